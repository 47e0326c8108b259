/**
 * The base of every error that answers hostile or mistaken input (a refused transaction, a bad
 * frame, a malformed request): a refusal, not a bug. It captures no stack trace: the input is
 * the whole story, and capturing one cost 2.4-5.7 µs per error, which under overload made
 * refusals 13.5% of a node's CPU samples. Errors that signal bugs keep extending Error, so
 * they keep their stacks. It lives in crypto/, the bottom layer, so every layer can use it.
 */
export class Refusal extends Error {
  constructor(message: string) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
  }
}
