/**
 * Translates RE2 regular-expression syntax (what ONNX RegexFullMatch specifies) into an
 * equivalent JavaScript `RegExp` source for the `u` flag, and rejects what RE2 does not
 * accept (lookaround, backreferences, possessive forms, `\C`...). RE2 differences handled:
 * `.` excludes only `\n`, `\s` is ASCII whitespace without `\v`, `(?flags)` applies to the
 * rest of the enclosing group, `(?P<name>...)`, `\A`, `\z`, `\Q...\E`, `\pL`, POSIX classes
 * `[[:alpha:]]`, octal and `\x{...}` escapes, and literal `{`, `}` and `]`.
 *
 * @module
 */

/** Thrown for patterns RE2 rejects or this translation cannot express. */
export class Re2SyntaxError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "Re2SyntaxError";
  }
}

const POSIX: Record<string, string> = {
  alnum: "0-9A-Za-z",
  alpha: "A-Za-z",
  ascii: "\\x00-\\x7F",
  blank: "\\t ",
  cntrl: "\\x00-\\x1F\\x7F",
  digit: "0-9",
  graph: "!-~",
  lower: "a-z",
  print: " -~",
  punct: "!-\\/:-@\\[-`\\{-~",
  space: "\\t\\n\\v\\f\\r ",
  upper: "A-Z",
  word: "0-9A-Za-z_",
  xdigit: "0-9A-Fa-f",
};

const RE2_SPACE = "\\t\\n\\f\\r ";

function codePoint(cp: number): string {
  return `\\u{${cp.toString(16)}}`;
}

/** Unicode general categories RE2 accepts by their short names. */
const CATEGORY =
  /^(C|Cc|Cf|Co|Cs|L|Ll|Lm|Lo|Lt|Lu|M|Mc|Me|Mn|N|Nd|Nl|No|P|Pc|Pd|Pe|Pf|Pi|Po|Ps|S|Sc|Sk|Sm|So|Z|Zl|Zp|Zs)$/;

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
}

/**
 * Translates an RE2 pattern to a JavaScript source matching the whole input (anchored at
 * both ends), to be compiled with the `u` flag. Throws {@link Re2SyntaxError}.
 */
export function re2ToJsFullMatch(pattern: string): string {
  return `^(?:${re2ToJs(pattern)})$`;
}

/** Translates an RE2 pattern to a JavaScript source for the `u` flag (not anchored). */
export function re2ToJs(pattern: string): string {
  const chars = Array.from(pattern);
  let pos = 0;
  let out = "";
  // One entry per open group: the flags in force inside it and how many `(?flags:` wrappers
  // were opened at that level by `(?flags)` (closed when the group ends, reopened after `|`).
  const stack: { flags: Flags; wrappers: string[] }[] = [
    { flags: { i: false, m: false, s: false }, wrappers: [] },
  ];
  const top = () => stack[stack.length - 1];
  const fail = (what: string): never => {
    throw new Re2SyntaxError(`${what} at offset ${pos} of /${pattern}/`);
  };
  // A quantifier must follow something repeatable; track that loosely for a clear error.
  let canRepeat = false;
  let lastWasQuantifier = false;

  const parseEscape = (inClass: boolean): string => {
    // chars[pos] is the character after the backslash.
    const c = chars[pos];
    if (c === undefined) fail("trailing backslash");
    pos++;
    switch (c) {
      case "a":
        return "\\x07";
      case "f":
        return "\\f";
      case "t":
        return "\\t";
      case "n":
        return "\\n";
      case "r":
        return "\\r";
      case "v":
        return "\\v";
      case "d":
      case "D":
      case "w":
      case "W":
        return `\\${c}`;
      case "s":
        return inClass ? RE2_SPACE : `[${RE2_SPACE}]`;
      case "S":
        if (inClass) fail("\\S inside a character class is not supported");
        return `[^${RE2_SPACE}]`;
      case "b":
      case "B":
        if (inClass) fail(`\\${c} inside a character class is not valid in RE2`);
        return `\\${c}`;
      case "A":
        if (inClass) fail("\\A inside a character class is not valid");
        return "(?<![\\s\\S])";
      case "z":
        if (inClass) fail("\\z inside a character class is not valid");
        return "(?![\\s\\S])";
      case "x": {
        let hex: string;
        if (chars[pos] === "{") {
          const end = chars.indexOf("}", pos);
          if (end < 0) fail("unterminated \\x{...}");
          hex = chars.slice(pos + 1, end).join("");
          pos = end + 1;
        } else {
          hex = chars.slice(pos, pos + 2).join("");
          pos += 2;
        }
        if (!/^[0-9A-Fa-f]{1,6}$/.test(hex)) fail(`bad hexadecimal escape \\x${hex}`);
        const cp = parseInt(hex, 16);
        if (cp > 0x10ffff) fail(`code point \\x{${hex}} is out of range`);
        return codePoint(cp);
      }
      case "p":
      case "P": {
        let name: string;
        if (chars[pos] === "{") {
          const end = chars.indexOf("}", pos);
          if (end < 0) fail("unterminated \\p{...}");
          name = chars.slice(pos + 1, end).join("");
          pos = end + 1;
        } else {
          name = chars[pos] ?? "";
          pos++;
        }
        let negate = c === "P";
        if (name.startsWith("^")) {
          negate = !negate;
          name = name.slice(1);
        }
        if (!/^[A-Za-z_]+$/.test(name)) fail(`bad Unicode class name "${name}"`);
        const body = name === "Any" ? null : CATEGORY.test(name) ? name : `Script=${name}`;
        if (body === null) {
          if (negate) return inClass ? fail("\\P{Any} inside a class") : "[^\\s\\S]";
          return inClass ? "\\s\\S" : "[\\s\\S]";
        }
        const src = `\\${negate ? "P" : "p"}{${body}}`;
        try {
          new RegExp(src, "u");
        } catch {
          fail(`unknown Unicode class "${name}"`);
        }
        return src;
      }
      case "Q": {
        // Literal text up to \E (or the end).
        let lit = "";
        while (pos < chars.length) {
          if (chars[pos] === "\\" && chars[pos + 1] === "E") {
            pos += 2;
            break;
          }
          lit += codePoint(chars[pos].codePointAt(0)!);
          pos++;
        }
        // Each character is its own atom: a following quantifier repeats the last one.
        return lit;
      }
      case "E":
        return "";
      case "C":
        return fail("\\C (any byte) is not supported");
      default:
        break;
    }
    if (c >= "0" && c <= "7") {
      // Octal: \0 up to \0oo, or \ooo with three digits; \1..\9 alone are backreferences.
      let digits = c;
      while (digits.length < 3 && /[0-7]/.test(chars[pos] ?? "")) digits += chars[pos++];
      if (c !== "0" && digits.length < 3) fail(`backreference \\${digits} is not supported`);
      return codePoint(parseInt(digits, 8));
    }
    if (c === "8" || c === "9") fail(`backreference \\${c} is not supported`);
    if (/[A-Za-z0-9]/.test(c)) fail(`escape \\${c} is not valid in RE2`);
    // Escaped punctuation (or any non-word character) is the literal character.
    return codePoint(c.codePointAt(0)!);
  };

  const parseClass = (): string => {
    // chars[pos] is just after '['.
    let src = "[";
    if (chars[pos] === "^") {
      src += "^";
      pos++;
    }
    let first = true;
    while (true) {
      const c = chars[pos];
      if (c === undefined) fail("missing closing ]");
      if (c === "]" && !first) {
        pos++;
        break;
      }
      first = false;
      if (c === "[" && chars[pos + 1] === ":") {
        const end = chars.indexOf("]", pos + 2);
        const spec = end > 0 ? chars.slice(pos + 2, end).join("") : "";
        if (spec.endsWith(":")) {
          const name = spec.slice(0, -1);
          if (name.startsWith("^")) fail(`negated POSIX class [:${name}:] is not supported`);
          const set = POSIX[name];
          if (!set) fail(`unknown POSIX class [:${name}:]`);
          src += set;
          pos = end + 1;
          continue;
        }
      }
      pos++;
      if (c === "\\") {
        src += parseEscape(true);
      } else if (c === "[" || c === "]" || c === "{" || c === "}" || c === "/" || c === "|") {
        src += `\\${c}`;
      } else {
        src += c;
      }
    }
    return src + "]";
  };

  const closeWrappers = (entry: { wrappers: string[] }) => {
    out += ")".repeat(entry.wrappers.length);
  };

  while (pos < chars.length) {
    const c = chars[pos];
    if (c === "\\") {
      pos++;
      out += parseEscape(false);
      canRepeat = true;
      lastWasQuantifier = false;
      continue;
    }
    if (c === "[") {
      pos++;
      out += parseClass();
      canRepeat = true;
      lastWasQuantifier = false;
      continue;
    }
    if (c === "(") {
      pos++;
      const parent = top();
      if (chars[pos] === "?") {
        pos++;
        const next = chars[pos];
        if (next === ":") {
          pos++;
          out += "(?:";
          stack.push({ flags: { ...parent.flags }, wrappers: [] });
        } else if (next === "P" && chars[pos + 1] === "<") {
          pos += 2;
          const end = chars.indexOf(">", pos);
          if (end < 0) fail("unterminated group name");
          const name = chars.slice(pos, end).join("");
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) fail(`bad group name "${name}"`);
          pos = end + 1;
          out += `(?<${name}>`;
          stack.push({ flags: { ...parent.flags }, wrappers: [] });
        } else if (next === "<" && chars[pos + 1] !== "=" && chars[pos + 1] !== "!") {
          pos++;
          const end = chars.indexOf(">", pos);
          if (end < 0) fail("unterminated group name");
          const name = chars.slice(pos, end).join("");
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) fail(`bad group name "${name}"`);
          pos = end + 1;
          out += `(?<${name}>`;
          stack.push({ flags: { ...parent.flags }, wrappers: [] });
        } else if (next === "=" || next === "!") {
          fail("lookahead assertions are not supported by RE2");
        } else if (next === "<") {
          fail("lookbehind assertions are not supported by RE2");
        } else {
          // Flags: (?flags) or (?flags:re), flags from i m s U with optional '-'.
          let on = true;
          const flags = { ...parent.flags };
          let any = false;
          while (pos < chars.length && chars[pos] !== ")" && chars[pos] !== ":") {
            const f = chars[pos++];
            if (f === "-") {
              if (!on) fail("repeated '-' in flags");
              on = false;
              continue;
            }
            if (f === "U") fail("the ungreedy flag U is not supported");
            if (f !== "i" && f !== "m" && f !== "s") fail(`unknown flag "${f}"`);
            flags[f as keyof Flags] = on;
            any = true;
          }
          if (!any) fail("empty flag group");
          const end = chars[pos++];
          if (end === undefined) fail("unterminated flag group");
          const mod = modifier(flags);
          if (end === ":") {
            out += `(?${mod}:`;
            stack.push({ flags, wrappers: [] });
          } else {
            // (?flags): applies to the rest of the enclosing group.
            out += `(?${mod}:`;
            parent.flags = flags;
            parent.wrappers.push(mod);
            canRepeat = false;
            continue;
          }
        }
      } else {
        out += "(";
        stack.push({ flags: { ...parent.flags }, wrappers: [] });
      }
      canRepeat = false;
      lastWasQuantifier = false;
      continue;
    }
    if (c === ")") {
      pos++;
      if (stack.length === 1) fail("unmatched )");
      closeWrappers(stack.pop()!);
      out += ")";
      canRepeat = true;
      lastWasQuantifier = false;
      continue;
    }
    if (c === "|") {
      pos++;
      const t = top();
      closeWrappers(t);
      out += "|";
      for (const w of t.wrappers) out += `(?${w}:`;
      canRepeat = false;
      lastWasQuantifier = false;
      continue;
    }
    if (c === "*" || c === "+" || c === "?") {
      pos++;
      if (!canRepeat) {
        if (lastWasQuantifier && c === "?") {
          out += "?"; // lazy quantifier
          lastWasQuantifier = false;
          continue;
        }
        fail(`missing argument to repetition operator ${c}`);
      }
      out += c;
      canRepeat = false;
      lastWasQuantifier = true;
      continue;
    }
    if (c === "{") {
      const rest = chars.slice(pos, pos + 24).join("");
      const m = /^\{(\d+)(,(\d*))?\}/.exec(rest);
      if (m) {
        if (!canRepeat) fail("missing argument to repetition operator {");
        const lo = Number(m[1]);
        const hi = m[3] ? Number(m[3]) : lo;
        if (lo > 1000 || hi > 1000) fail("repetition count exceeds RE2's limit of 1000");
        if (m[3] && hi < lo) fail(`bad repetition {${m[1]},${m[3]}}`);
        pos += m[0].length;
        out += m[0];
        canRepeat = false;
        lastWasQuantifier = true;
        continue;
      }
      pos++;
      out += "\\{";
      canRepeat = true;
      lastWasQuantifier = false;
      continue;
    }
    pos++;
    if (c === "}" || c === "]" || c === "/") out += `\\${c}`;
    else if (c === ".") out += top().flags.s ? "[\\s\\S]" : "[^\\n]";
    else out += c;
    canRepeat = c !== "^" && c !== "$";
    lastWasQuantifier = false;
  }
  if (stack.length !== 1) fail("missing closing )");
  closeWrappers(stack[0]);
  return out;
}

function modifier(f: Flags): string {
  // `s` is implemented by the translation of `.`; only i and m go to JavaScript.
  const on = (f.i ? "i" : "") + (f.m ? "m" : "");
  const off = (f.i ? "" : "i") + (f.m ? "" : "m");
  return off ? `${on}-${off}` : on;
}
