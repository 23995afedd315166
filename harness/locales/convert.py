#!/usr/bin/env python3
"""Turns the report messages of Rust sources into `tr!` calls, mechanically, so that a
conversion can be redone after a merge: `python3 harness/locales/convert.py FILE...`.

With `--bare`, a prose literal that is a value (an argument, a match arm's value) becomes
`tr!("…")` too: review those (a literal searched for in student output must stay as it is).

Rewritten (outside `#[cfg(test)]`): `format!("…")` and `write!(f, "…")` whose template is
prose with named placeholders only (`{x}`, `{x}` = an argument or a captured variable),
and `"…".to_string()` / `"…".into()` / `String::from("…")` of prose. Positional `{}` and
format specs (`{x:>3}`, `{:?}`) are left for a hand: name them first. Then run the i18n tests:
they list the new texts the catalog (harness/locales/zh.toml) lacks.
"""
import re
import sys

PLACE = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")


def string_end(s, i):
    """Index after the string literal starting at s[i] == '"'."""
    j = i + 1
    while j < len(s):
        if s[j] == "\\":
            j += 2
            continue
        if s[j] == '"':
            return j + 1
        j += 1
    return j


def call_end(s, i):
    """Index of the ')' closing the call whose arguments start at s[i]."""
    depth = 0
    j = i
    while j < len(s):
        c = s[j]
        if c == '"':
            j = string_end(s, j)
            continue
        if c == "'" and re.match(r"'(\\.|[^\\'])'", s[j:j + 4]):
            j = s.index("'", j + 1) + 1
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                return j
            depth -= 1
        j += 1
    return -1


def split_args(s):
    """Top-level comma-separated pieces of s."""
    out, depth, start, j = [], 0, 0, 0
    while j < len(s):
        c = s[j]
        if c == '"':
            j = string_end(s, j)
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "," and depth == 0:
            out.append(s[start:j])
            start = j + 1
        j += 1
    out.append(s[start:])
    return [a.strip() for a in out if a.strip()]


def text_of(lit):
    return re.sub(r"\\\n\s*", "", lit[1:-1])


def is_prose(template):
    bare = PLACE.sub(" ", template)
    words = [w for w in re.findall(r"[A-Za-z']+", bare) if len(w) >= 2]
    return len(words) >= 2 or (len(words) == 1 and " " in bare.strip())


SKIP_WORDS = {"self", "f", "crate", "std", "super", "Some", "None", "to_string", "as_str",
              "name", "label", "clone", "unwrap_or", "map", "as_ref", "iter", "collect", "join"}


def name_for(expr, taken):
    """A placeholder name for a positional argument: the first telling identifier of it."""
    for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", expr):
        if w not in SKIP_WORDS and not w[0].isupper() and w not in taken:
            return w
    k = 1
    while f"arg{k}" in taken:
        k += 1
    return f"arg{k}"


def named(template, args):
    """The template with positional `{}` named after their arguments, and the arguments
    as (name, expression); None when a placeholder has a spec."""
    pos = [a for a in args if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*\s*=(?!=)", a)]
    kw = [a for a in args if a not in pos]
    out, given, k = [], {}, 0
    for a in kw:
        n, e = a.split("=", 1)
        given[n.strip()] = e.strip()
    last = 0
    for m in PLACE.finditer(template):
        inner = m.group(1)
        out.append(template[last:m.start()])
        last = m.end()
        if inner is None:
            out.append(m.group(0))
            continue
        if inner == "":
            if k >= len(pos):
                return None
            n = name_for(pos[k], set(given) | set(re.findall(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", template)))
            given[n] = pos[k]
            k += 1
            inner = n
        elif not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", inner):
            return None
        given.setdefault(inner, inner)
        out.append("{" + inner + "}")
    out.append(template[last:])
    if k != len(pos):
        return None
    return "".join(out), given


def names_of(template):
    """The placeholder names, or None when one is positional or has a spec."""
    names = []
    for m in PLACE.finditer(template):
        inner = m.group(1)
        if inner is None:
            continue
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", inner):
            return None
        if inner not in names:
            names.append(inner)
    return names


def tr_call(lit, rest_args):
    template = text_of(lit)
    if not is_prose(template):
        return None
    done = named(lit, rest_args)
    if done is None:
        return None
    lit, given = done
    names = names_of(text_of(lit))
    if names is None or set(given) - set(names):
        return None
    if not names:
        return f"tr!({lit})"
    args = ", ".join(f"{n} = {given.get(n, n)}" for n in names)
    return f"tr!({lit}, {args})"


def convert(code):
    cut = code.find("#[cfg(test)]")
    head, tail = (code, "") if cut < 0 else (code[:cut], code[cut:])
    out, i = [], 0
    pat = re.compile(r'(?<![A-Za-z0-9_])(format!\(\s*|write!\(\s*f\s*,\s*)(?=")|(?<![A-Za-z0-9_])String::from\((?=")|"')
    while True:
        m = pat.search(head, i)
        if not m:
            break
        tok = m.group(0)
        if tok == '"':
            # A bare literal: converted when followed by .to_string() or .into(), or, with
            # --bare, when it is a value (an argument, a match arm's or a let's value).
            end = string_end(head, m.start())
            lit = head[m.start():end]
            after = re.match(r"\.(to_string|into|to_owned)\(\)", head[end:])
            line_start = head.rfind("\n", 0, m.start()) + 1
            line = head[line_start:head.find("\n", m.start())]
            in_comment = "//" in head[line_start:m.start()]
            before = head[max(0, m.start() - 6):m.start()]
            squeezed = re.sub(r"\s+", " ", head[max(0, m.start() - 40):m.start()]).rstrip()
            value = BARE and re.search(r"(\(|,|=>|return|=|\{)$", squeezed) and not re.match(
                r"\s*(=>|\.(contains|starts_with|ends_with|find))", head[end:]) and not re.search(
                r"(contains|starts_with|ends_with|find|strip_prefix|strip_suffix|split|matches|replace|const|static)\b", squeezed + line)
            if (after or value) and not in_comment and not squeezed.endswith("tr!(") and is_prose(text_of(lit)):
                out.append(head[i:m.start()])
                out.append(f"tr!({lit})")
                i = end
            else:
                out.append(head[i:end])
                i = end
            continue
        start_args = m.end()
        close = call_end(head, start_args)
        if close < 0:
            out.append(head[i:m.end()])
            i = m.end()
            continue
        args = split_args(head[start_args:close])
        lit, rest = args[0], args[1:]
        if not (lit.startswith('"') and lit.endswith('"')):
            out.append(head[i:m.end()])
            i = m.end()
            continue
        call = tr_call(lit, rest)
        if call is None:
            out.append(head[i:close + 1])
            i = close + 1
            continue
        out.append(head[i:m.start()])
        fixed = call == f"tr!({lit})"  # no placeholders: a &'static str
        if tok.startswith("write!"):
            out.append(f"f.write_str({call})" if fixed else f"f.write_str(&{call})")
        elif fixed:
            out.append(f"{call}.to_string()")
        else:
            out.append(call)
        i = close + 1
    out.append(head[i:])
    return "".join(out) + tail


BARE = False


def main():
    global BARE
    BARE = "--bare" in sys.argv
    for path in [a for a in sys.argv[1:] if a != "--bare"]:
        code = open(path).read()
        new = convert(code)
        if new != code:
            if "tr!(" in new and not re.search(r"use crate::(\{[^}]*\btr\b|tr;)|crate::tr!|macro_rules! tr", new):
                new = re.sub(r"^(use [^\n]*;\n)", r"use crate::tr;\n\1", new, count=1, flags=re.M)
            open(path, "w").write(new)
            print("converted", path)


if __name__ == "__main__":
    main()
