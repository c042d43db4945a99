/** The bench scripts' command line: flags (`--quick`) and options with a value (`--seconds 4`). */

/** The arguments after the script's name. */
export const args = process.argv.slice(2);

/** The value after `name`, or `fallback` when the option or its value is missing. */
export function option(name: string, fallback: string): string {
  const i = args.indexOf(name);
  return i >= 0 ? (args[i + 1] ?? fallback) : fallback;
}

/** `option` read as a number. */
export function numberOption(name: string, fallback: number): number {
  return Number(option(name, String(fallback)));
}
