#!/usr/bin/python3
"""One-time developer tool: regenerates ops/schema/schemas.json.

Nothing in the library or its tests runs this script or needs Python; the committed
schemas.json is the product. Run it by hand when the schema data changes:

    /usr/bin/python3 ops/schema/gen_schemas.py

Sources, in order:
  1. Debian's python3-onnx 1.12 (`onnx.defs.get_all_schemas_with_history()`): every schema
     version up to ai.onnx opset 17, ai.onnx.ml 3 and ai.onnx.preview.training 1.
  2. ops/schema/post_1_12.txt: the schema versions added after onnx 1.12 (ai.onnx 18..28,
     ai.onnx.ml 4..5, ai.onnx.preview 1), written by hand from the ONNX spec
     (docs/Changelog.md, docs/Changelog-ml.md) in the small line format documented at the
     top of that file.

Output format (schemas.json), documented again in mod.ts:
  {"format": 1, "types": [[type string, ...], ...], "ops": [op, ...]}
  op: {"d": domain (omitted for ""), "n": op type, "s": since version,
       "i": inputs, "o": outputs, "a": attributes, "t": {type param: index into "types"},
       "x": 1 when deprecated, "f": 1 when the op has a function body,
       "c": [minInputs, maxInputs, minOutputs, maxOutputs] only where these differ from
            what the formal parameters imply}
  formal parameter: [name, type] plus an optional flag string ("o" optional, "v" variadic,
       "vh" variadic heterogeneous) and an optional minimum arity when it is not 1.
  attribute: [name, TYPE], [name, TYPE, 1] when required, [name, TYPE, 0, default].
Empty fields are left out.
"""

from __future__ import annotations

import json
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
UNBOUNDED = 2147483647

# ---------------------------------------------------------------------------------------------
# Canonical schema records (plain dicts) shared by both sources.
# ---------------------------------------------------------------------------------------------


def new_schema(domain: str, op: str, since: int) -> dict:
    return {
        "domain": domain,
        "opType": op,
        "since": since,
        "inputs": [],
        "outputs": [],
        "attributes": [],
        "typeConstraints": {},
        "deprecated": False,
        "hasFunction": False,
        "counts": None,
    }


def param(name: str, typ: str, option: str = "single", homogeneous: bool = True, min_arity: int = 1) -> dict:
    return {"name": name, "type": typ, "option": option, "homogeneous": homogeneous, "minArity": min_arity}


def implied_counts(params: list[dict]) -> tuple[int, int]:
    """min/max count the way onnx OpSchema::Finalize computes them."""
    lo = hi = 0
    for p in params:
        if p["option"] == "single":
            hi += 1
            lo = hi
        elif p["option"] == "optional":
            hi += 1
        else:
            lo = hi + p["minArity"]
            hi = UNBOUNDED
    return lo, hi


def canonical_type(text: str) -> str:
    """Canonical ONNX type string: tensor(e), seq(T), optional(T), map(k,T), sparse_tensor(e).

    Schemas write map value types loosely ("map(int64, float)"); onnx itself parses them into
    TypeProtos whose string form is "map(int64,tensor(float))", which is what we store.
    """
    text = text.strip()
    m = re.fullmatch(r"(seq|optional)\((.*)\)", text)
    if m:
        return f"{m.group(1)}({canonical_type(m.group(2))})"
    m = re.fullmatch(r"map\(\s*([a-z0-9]+)\s*,(.*)\)", text)
    if m:
        return f"map({m.group(1)},{canonical_type(m.group(2))})"
    m = re.fullmatch(r"(tensor|sparse_tensor)\(([a-z0-9]+)\)", text)
    if m:
        return text
    if re.fullmatch(r"[a-z0-9]+", text):
        return f"tensor({text})"
    raise ValueError(f"unrecognised type string {text!r}")


def float32_repr(value: float) -> float:
    """Shortest decimal that reads back as the same float32 (0.0001, not 9.999999747e-05)."""
    bits = struct.pack("<f", value)
    for digits in range(1, 18):
        text = "%.*g" % (digits, value)
        try:
            if struct.pack("<f", float(text)) == bits:
                return float(text)
        except OverflowError:
            continue
    return value


# ---------------------------------------------------------------------------------------------
# Source 1: onnx python package.
# ---------------------------------------------------------------------------------------------


def attr_default(attr) -> object:  # noqa: ANN001
    from onnx import AttributeProto, numpy_helper

    v = attr.default_value
    if not v.name:
        return None
    t = v.type
    if t == AttributeProto.INT:
        return v.i
    if t == AttributeProto.FLOAT:
        return float32_repr(v.f)
    if t == AttributeProto.STRING:
        return v.s.decode("utf-8")
    if t == AttributeProto.INTS:
        return list(v.ints)
    if t == AttributeProto.FLOATS:
        return [float32_repr(f) for f in v.floats]
    if t == AttributeProto.STRINGS:
        return [s.decode("utf-8") for s in v.strings]
    if t == AttributeProto.TENSOR:
        arr = numpy_helper.to_array(v.t)
        values = arr.flatten().tolist()
        if arr.dtype.kind == "f":
            values = [float32_repr(x) for x in values]
        elif arr.dtype.kind in ("S", "O"):
            values = [x.decode("utf-8") if isinstance(x, bytes) else x for x in values]
        return {"dataType": v.t.data_type, "dims": list(v.t.dims), "values": values}
    raise ValueError(f"unsupported default of type {t} on {v.name}")


def from_onnx() -> list[dict]:
    from onnx import defs

    opt = defs.OpSchema.FormalParameterOption
    option_name = {opt.Single: "single", opt.Optional: "optional", opt.Variadic: "variadic"}
    out = []
    for s in defs.get_all_schemas_with_history():
        rec = new_schema(s.domain, s.name, s.since_version)
        for kind, params, lo in (("inputs", s.inputs, s.min_input), ("outputs", s.outputs, s.min_output)):
            for idx, p in enumerate(params):
                option = option_name[p.option]
                min_arity = 1
                if option == "variadic":
                    # python 1.12 does not expose min_arity; Finalize sets min = index + min_arity.
                    min_arity = lo - idx
                    assert min_arity >= 0, (s.name, kind)
                typ = p.typeStr if "(" not in p.typeStr else canonical_type(p.typeStr)
                rec[kind].append(param(p.name, typ, option, bool(p.isHomogeneous), min_arity))
        for name in sorted(s.attributes):
            a = s.attributes[name]
            entry = {"name": name, "type": a.type.name, "required": bool(a.required)}
            default = attr_default(a)
            if default is not None:
                entry["default"] = default
            rec["attributes"].append(entry)
        for tc in s.type_constraints:
            rec["typeConstraints"][tc.type_param_str] = [canonical_type(t) for t in tc.allowed_type_strs]
        rec["deprecated"] = bool(s.deprecated)
        rec["hasFunction"] = bool(s.has_function or s.has_context_dependent_function)
        counts = (s.min_input, s.max_input, s.min_output, s.max_output)
        if counts != implied_counts(rec["inputs"]) + implied_counts(rec["outputs"]):
            rec["counts"] = list(counts)
        out.append(rec)
    return out


# ---------------------------------------------------------------------------------------------
# Source 2: the hand-written line format (see the header of post_1_12.txt).
# ---------------------------------------------------------------------------------------------

ELEM = {
    "f16": "float16", "f32": "float", "f64": "double", "bf16": "bfloat16",
    "i8": "int8", "i16": "int16", "i32": "int32", "i64": "int64",
    "u8": "uint8", "u16": "uint16", "u32": "uint32", "u64": "uint64",
    "str": "string", "bool": "bool", "c64": "complex64", "c128": "complex128",
    "f8e4m3fn": "float8e4m3fn", "f8e4m3fnuz": "float8e4m3fnuz", "f8e5m2": "float8e5m2",
    "f8e5m2fnuz": "float8e5m2fnuz", "f8e8m0": "float8e8m0", "f4e2m1": "float4e2m1",
    "u4": "uint4", "i4": "int4", "u2": "uint2", "i2": "int2",
}
ATTR_TYPES = {
    "FLOAT", "INT", "STRING", "TENSOR", "GRAPH", "FLOATS", "INTS", "STRINGS", "TENSORS",
    "GRAPHS", "SPARSE_TENSOR", "SPARSE_TENSORS", "TYPE_PROTO", "TYPE_PROTOS",
}


def expand_type(tok: str) -> str:
    """f32 -> tensor(float), seq(f32) -> seq(tensor(float)), opt(seq(i64)) -> optional(seq(tensor(int64)))."""
    m = re.fullmatch(r"(seq|opt|map)\((.*)\)", tok)
    if m:
        inner = m.group(2)
        if m.group(1) == "map":
            key, val = inner.split(",", 1)
            return f"map({ELEM.get(key, key)},{expand_type(val)})"
        wrap = "seq" if m.group(1) == "seq" else "optional"
        return f"{wrap}({expand_type(inner)})"
    if tok.startswith(("tensor(", "seq(", "optional(", "map(", "sparse_tensor(")):
        return tok
    if tok in ELEM:
        return f"tensor({ELEM[tok]})"
    if tok in ELEM.values():
        return f"tensor({tok})"
    raise ValueError(f"unknown type token {tok!r}")


def expand_list(tokens: list[str], macros: dict[str, list[str]]) -> list[str]:
    out: list[str] = []
    for tok in tokens:
        wrapped = re.fullmatch(r"((?:seq\(|opt\()+)\$(\w+)(\)+)", tok)
        if wrapped:
            # seq($M), opt($M), opt(seq($M)): wrap every entry of macro M
            prefix = wrapped.group(1).replace("opt(", "optional(")
            out.extend(prefix + t + wrapped.group(3) for t in macros[wrapped.group(2)])
        elif tok.startswith("$"):
            out.extend(macros[tok[1:]])
        elif tok.startswith("-$"):
            drop = set(macros[tok[2:]])
            out = [t for t in out if t not in drop]
        elif tok.startswith("-"):
            drop_one = expand_type(tok[1:])
            out = [t for t in out if t != drop_one]
        else:
            out.append(expand_type(tok))
    seen: list[str] = []
    for t in out:
        if t not in seen:
            seen.append(t)
    return seen


def split_tokens(text: str) -> list[str]:
    """Whitespace split that keeps JSON values (after '=') whole."""
    if "=" in text:
        head, _, tail = text.partition("=")
        return head.split() + ["=" + tail.strip()]
    return text.split()


def parse_param(tokens: list[str]) -> dict:
    name, typ = tokens[0], tokens[1]
    is_param = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", typ) and typ not in ELEM
    p = param(name, typ if is_param else expand_type(typ))
    for flag in tokens[2:]:
        if flag == "opt":
            p["option"] = "optional"
        elif flag == "var":
            p["option"] = "variadic"
        elif flag == "varh":
            p["option"] = "variadic"
            p["homogeneous"] = False
        elif flag.startswith("min="):
            p["minArity"] = int(flag[4:])
        else:
            raise ValueError(f"bad parameter flag {flag!r}")
    return p


def load_dsl(path: str, table: dict[tuple[str, str, int], dict]) -> list[dict]:
    macros: dict[str, list[str]] = {}
    added: list[dict] = []
    cur: dict | None = None
    seen_in = seen_out = seen_attr = False

    def finish() -> None:
        nonlocal cur
        if cur is not None:
            key = (cur["domain"], cur["opType"], cur["since"])
            if key in table:
                cur["replaces"] = True  # a correction of an onnx 1.12 entry
            table[key] = cur
            added.append(cur)
        cur = None

    with open(path, encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if " # " in line and not (line.startswith("attr") and "=" in line):
                line = line.split(" # ", 1)[0].strip()
            try:
                word, _, rest = line.partition(" ")
                if word == "macro":
                    name, _, body = rest.partition("=")
                    macros[name.strip()] = expand_list(body.split(), macros)
                elif word == "op":
                    finish()
                    toks = rest.split()
                    domain = "" if toks[0] in ("ai.onnx", "-") else toks[0]
                    op, since = toks[1], int(toks[2])
                    if len(toks) > 3:
                        if toks[3] == "from":
                            base = table[(domain, op, int(toks[4]))]
                        else:
                            assert toks[3] == "like", toks
                            base = table[(domain, toks[4], int(toks[5]))]
                        base = json.loads(json.dumps(base))
                        base["opType"] = op
                        cur = base
                        cur["since"] = since
                        cur["counts"] = None
                    else:
                        cur = new_schema(domain, op, since)
                    seen_in = seen_out = seen_attr = False
                elif cur is None:
                    raise ValueError("line outside an op block")
                elif word == "in":
                    if not seen_in:
                        cur["inputs"] = []
                        seen_in = True
                    cur["inputs"].append(parse_param(rest.split()))
                elif word == "out":
                    if not seen_out:
                        cur["outputs"] = []
                        seen_out = True
                    cur["outputs"].append(parse_param(rest.split()))
                elif word == "noin":
                    cur["inputs"] = []
                    seen_in = True
                elif word == "attr":
                    if not seen_attr:
                        cur["attributes"] = []
                        seen_attr = True
                    toks = split_tokens(rest)
                    name, typ = toks[0], toks[1]
                    assert typ in ATTR_TYPES, typ
                    entry: dict = {"name": name, "type": typ, "required": False}
                    for extra in toks[2:]:
                        if extra == "req":
                            entry["required"] = True
                        elif extra.startswith("="):
                            entry["default"] = json.loads(extra[1:])
                        else:
                            raise ValueError(f"bad attribute token {extra!r}")
                    cur["attributes"].append(entry)
                elif word == "noattr":
                    cur["attributes"] = []
                    seen_attr = True
                elif word == "tc":
                    toks = rest.split()
                    cur["typeConstraints"][toks[0]] = expand_list(toks[1:], macros)
                elif word == "notc":
                    del cur["typeConstraints"][rest.strip()]
                elif word == "fn":
                    cur["hasFunction"] = True
                elif word == "nofn":
                    cur["hasFunction"] = False
                else:
                    raise ValueError(f"unknown keyword {word!r}")
            except Exception as exc:  # noqa: BLE001
                raise SystemExit(f"{path}:{lineno}: {exc}: {raw.rstrip()}") from exc
    finish()
    for rec in added:
        rec["attributes"].sort(key=lambda a: a["name"])
    return added


# ---------------------------------------------------------------------------------------------
# Checks and output.
# ---------------------------------------------------------------------------------------------

TYPE_RE = re.compile(r"^(tensor|seq|optional|map|sparse_tensor)\(.*\)$")


def validate(rec: dict) -> None:
    where = f"{rec['domain'] or 'ai.onnx'}:{rec['opType']}-{rec['since']}"
    for kind in ("inputs", "outputs"):
        params = rec[kind]
        names = [p["name"] for p in params]
        for i, p in enumerate(params):
            if p["option"] == "variadic" and i != len(params) - 1:
                raise SystemExit(f"{where}: variadic {kind} parameter {p['name']} is not last")
            t = p["type"]
            if not TYPE_RE.match(t) and t not in rec["typeConstraints"]:
                raise SystemExit(f"{where}: {kind} {p['name']} uses unknown type param {t}")
        del names
    for tp, types in rec["typeConstraints"].items():
        if not types:
            raise SystemExit(f"{where}: type constraint {tp} is empty")
        for t in types:
            if not TYPE_RE.match(t):
                raise SystemExit(f"{where}: bad type string {t}")
    attr_names = [a["name"] for a in rec["attributes"]]
    if len(set(attr_names)) != len(attr_names):
        raise SystemExit(f"{where}: duplicate attribute")


def encode_param(p: dict) -> list:
    out: list = [p["name"], p["type"]]
    flag = {"single": "", "optional": "o", "variadic": "v"}[p["option"]]
    if p["option"] == "variadic" and not p["homogeneous"]:
        flag = "vh"
    if flag or p["minArity"] != 1:
        out.append(flag)
    if p["minArity"] != 1:
        out.append(p["minArity"])
    return out


def encode(records: list[dict]) -> dict:
    type_lists: list[list[str]] = []
    index: dict[str, int] = {}
    ops = []
    for rec in records:
        o: dict = {}
        if rec["domain"]:
            o["d"] = rec["domain"]
        o["n"] = rec["opType"]
        o["s"] = rec["since"]
        if rec["inputs"]:
            o["i"] = [encode_param(p) for p in rec["inputs"]]
        if rec["outputs"]:
            o["o"] = [encode_param(p) for p in rec["outputs"]]
        if rec["attributes"]:
            attrs = []
            for a in rec["attributes"]:
                e: list = [a["name"], a["type"]]
                if a["required"]:
                    e.append(1)
                elif "default" in a:
                    e += [0, a["default"]]
                attrs.append(e)
            o["a"] = attrs
        if rec["typeConstraints"]:
            t = {}
            for name, types in rec["typeConstraints"].items():
                key = json.dumps(types)
                if key not in index:
                    index[key] = len(type_lists)
                    type_lists.append(types)
                t[name] = index[key]
            o["t"] = t
        if rec["deprecated"]:
            o["x"] = 1
        if rec["hasFunction"]:
            o["f"] = 1
        if rec["counts"]:
            o["c"] = rec["counts"]
        ops.append(o)
    return {"format": 1, "types": type_lists, "ops": ops}


def main() -> None:
    table: dict[tuple[str, str, int], dict] = {}
    for rec in from_onnx():
        table[(rec["domain"], rec["opType"], rec["since"])] = rec
    n_base = len(table)
    dsl = os.path.join(HERE, "post_1_12.txt")
    added = load_dsl(dsl, table)
    n_fixed = sum(1 for rec in added if rec.pop("replaces", False))
    records = sorted(table.values(), key=lambda r: (r["domain"], r["opType"], r["since"]))
    for rec in records:
        validate(rec)
    data = encode(records)
    out_path = os.path.join(HERE, "schemas.json")
    with open(out_path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, separators=(",", ":"), ensure_ascii=False)
        fh.write("\n")
    print(
        f"{len(records)} schemas ({n_base} from onnx 1.12, {len(added) - n_fixed} added and "
        f"{n_fixed} corrected by post_1_12.txt), "
        f"{len(data['types'])} distinct type lists, {os.path.getsize(out_path)} bytes -> {out_path}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
