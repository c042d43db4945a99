/** Model-name globs of `gateway.models` (SPEC §11): whole-name, case-sensitive, `*` and `?` only. */

/**
 * Compile a glob to an anchored RegExp: `*` is any run of characters (including none), `?` exactly one,
 * everything else literal (`.` in `gpt-4.1` is a dot, not "any character").
 */
export function globToRegExp(pattern: string): RegExp {
  let source = "";
  let previousStar = false;
  for (const char of pattern) {
    if (char === "*") {
      // Runs of `*` mean the same as one; collapsing them keeps backtracking polynomial in the stars.
      if (!previousStar) source += ".*";
      previousStar = true;
      continue;
    }
    previousStar = false;
    source += char === "?" ? "." : char.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
  }
  // `s`: a model name containing a newline is still one name; `u`: `?` is one code point, not half of one.
  return new RegExp(`^${source}$`, "su");
}
