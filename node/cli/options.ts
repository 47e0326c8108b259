/** Parsers for option values, so bad values are usage errors (exit 2) named by commander. */
import { InvalidArgumentError } from 'commander';

/** An integer option in [min, max]. */
export function intOption(min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^[0-9]+$/.test(value)) throw new InvalidArgumentError(`expected an integer in ${min}..${max}.`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`expected an integer in ${min}..${max}.`);
    return n;
  };
}

/** A non-negative decimal amount (bigint). */
export function amountOption(value: string): bigint {
  if (!/^(0|[1-9][0-9]*)$/.test(value))
    throw new InvalidArgumentError('expected a non-negative decimal integer.');
  return BigInt(value);
}
