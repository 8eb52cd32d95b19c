#!/usr/bin/env python3
"""Checks protocol/openrpc.json.

  python3 protocol/tools/check_openrpc.py [path/to/openrpc.json] [--meta-schema FILE] [--worker BINARY]

Checks, each failure printed, exit status 1 if any:
  1. the file is JSON and has the structure OpenRPC 1.3 prescribes (top-level members, info, methods with
     unique names, by-name params as content descriptors, result, errors, examples), plus this project's
     extensions (x-status on methods, x-notifications, x-errors);
  2. every JSON Schema in it (components.schemas, params, results, notification params) is a valid
     draft-07 schema (jsonschema's Draft7Validator.check_schema);
  3. every "$ref" points at something that exists in the document;
  4. every example (method params and results, notification params) validates against its schema;
  5. x-errors and components.errors agree, and every method's error $ref resolves to one of them;
  6. with --meta-schema FILE: the document validates against that copy of the OpenRPC meta-schema
     (https://github.com/open-rpc/meta-schema, schema.json; its "openrpc" enum placeholder is widened to
     accept any 1.x version);
  7. with --worker BINARY: the worker's initialize result matches InitializeResult and its `methods` list is
     exactly the document's methods: a method the worker serves that the document lacks fails, a documented
     method the worker does not serve fails, and so does a served method still marked x-status "planned".

Needs only the `jsonschema` package (4.x).
"""
import argparse
import json
import os
import re
import subprocess
import sys

try:
    from jsonschema import Draft7Validator
    from jsonschema.exceptions import SchemaError
except ImportError:  # pragma: no cover
    print("check_openrpc: the jsonschema package is required (pip install jsonschema)", file=sys.stderr)
    sys.exit(2)

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DOC = os.path.join(HERE, "..", "openrpc.json")

TOP_KEYS = {"openrpc", "info", "servers", "methods", "components", "externalDocs"}
INFO_KEYS = {"title", "description", "termsOfService", "version", "contact", "license"}
METHOD_KEYS = {"name", "description", "summary", "servers", "tags", "paramStructure", "params", "result",
               "deprecated", "errors", "links", "examples", "externalDocs"}
CD_KEYS = {"name", "description", "summary", "schema", "required", "deprecated"}
COMPONENT_KEYS = {"schemas", "links", "errors", "examples", "examplePairings", "contentDescriptors", "tags"}
STATUSES = {"implemented", "planned"}
NOTIFICATION_KEYS = {"name", "direction", "summary", "description", "sentBy", "params", "examples", "x-status"}


class Checker:
    def __init__(self, doc):
        self.doc = doc
        self.problems = []

    def fail(self, where, what):
        self.problems.append(f"{where}: {what}")

    # ── helpers ────────────────────────────────────────────────────────

    def resolve(self, ref):
        """The value a local "#/a/b" reference points at, or raises KeyError."""
        if not ref.startswith("#"):
            raise KeyError(f"only local references are used in this document: {ref}")
        node = self.doc
        for part in ref[1:].split("/")[1:] if ref != "#" else []:
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, list):
                node = node[int(part)]
            elif isinstance(node, dict) and part in node:
                node = node[part]
            else:
                raise KeyError(ref)
        return node

    def deref(self, value):
        seen = 0
        while isinstance(value, dict) and "$ref" in value and len(value) == 1:
            value = self.resolve(value["$ref"])
            seen += 1
            if seen > 32:
                raise KeyError("reference loop")
        return value

    def validator(self, schema):
        # Local refs ("#/components/...") resolve against the root of the schema, so wrap the schema in a
        # root that carries the document's components.
        wrapper = {"$schema": "http://json-schema.org/draft-07/schema#",
                   "components": self.doc.get("components", {}), "allOf": [schema]}
        return Draft7Validator(wrapper)

    def check_schema(self, where, schema):
        try:
            Draft7Validator.check_schema(schema)
        except SchemaError as error:
            self.fail(where, f"not a valid draft-07 schema: {error.message} (at {'/'.join(map(str, error.absolute_path))})")

    def check_example(self, where, schema, value):
        try:
            errors = sorted(self.validator(schema).iter_errors(value), key=lambda e: list(e.absolute_path))
        except Exception as error:  # an invalid schema or a dangling $ref, reported as such elsewhere too
            self.fail(where, f"example could not be validated: {type(error).__name__}: {str(error).splitlines()[0][:160]}")
            return
        for error in errors[:5]:
            path = "/".join(map(str, error.absolute_path)) or "(root)"
            self.fail(where, f"example does not match its schema at {path}: {error.message}")

    def walk_refs(self, value, where):
        if isinstance(value, dict):
            if isinstance(value.get("$ref"), str):
                try:
                    self.resolve(value["$ref"])
                except (KeyError, ValueError, IndexError):
                    self.fail(where, f"unresolvable $ref {value['$ref']}")
            for key, member in value.items():
                self.walk_refs(member, f"{where}/{key}")
        elif isinstance(value, list):
            for index, member in enumerate(value):
                self.walk_refs(member, f"{where}/{index}")

    # ── checks ─────────────────────────────────────────────────────────

    def run(self):
        doc = self.doc
        if not isinstance(doc, dict):
            self.fail("document", "not a JSON object")
            return
        for key in doc:
            if key not in TOP_KEYS and not key.startswith("x-"):
                self.fail("document", f"unknown top-level member {key!r}")
        for key in ("openrpc", "info", "methods"):
            if key not in doc:
                self.fail("document", f"missing {key!r}")
        if not re.fullmatch(r"1\.3\.[0-9]+", str(doc.get("openrpc", ""))):
            self.fail("openrpc", f"expected an OpenRPC 1.3.x version, got {doc.get('openrpc')!r}")
        info = doc.get("info", {})
        if not isinstance(info, dict) or not isinstance(info.get("title"), str) or not isinstance(info.get("version"), str):
            self.fail("info", "needs string title and version")
        else:
            for key in info:
                if key not in INFO_KEYS and not key.startswith("x-"):
                    self.fail("info", f"unknown member {key!r}")

        components = doc.get("components", {})
        for key in components:
            if key not in COMPONENT_KEYS:
                self.fail("components", f"unknown member {key!r}")
        for name, schema in components.get("schemas", {}).items():
            self.check_schema(f"components.schemas.{name}", schema)
        for name, error in components.get("errors", {}).items():
            if not isinstance(error.get("code"), int) or not isinstance(error.get("message"), str):
                self.fail(f"components.errors.{name}", "needs an integer code and a string message")
            extra = set(error) - {"code", "message", "data"}
            if extra:
                self.fail(f"components.errors.{name}", f"unknown members {sorted(extra)}")

        names = set()
        for index, method in enumerate(doc.get("methods", [])):
            self.check_method(index, method, names)
        self.check_notifications()
        self.check_errors()
        self.walk_refs(doc, "#")

    def check_method(self, index, method, names):
        where = f"methods[{index}]"
        if not isinstance(method, dict):
            self.fail(where, "not an object")
            return
        name = method.get("name")
        if not isinstance(name, str) or not name:
            self.fail(where, "needs a name")
            return
        where = f"method {name}"
        if name in names:
            self.fail(where, "name is not unique")
        names.add(name)
        for key in method:
            if key not in METHOD_KEYS and not key.startswith("x-"):
                self.fail(where, f"unknown member {key!r}")
        if method.get("paramStructure") != "by-name":
            self.fail(where, "paramStructure must be \"by-name\" (params are always by name)")
        if method.get("x-status") not in STATUSES:
            self.fail(where, f"x-status must be one of {sorted(STATUSES)}")
        params = method.get("params")
        if not isinstance(params, list):
            self.fail(where, "params must be an array")
            params = []
        param_schemas = {}
        for p_index, param in enumerate(params):
            param = self.deref(param)
            pw = f"{where} param {p_index}"
            if not isinstance(param, dict) or not isinstance(param.get("name"), str) or "schema" not in param:
                self.fail(pw, "a content descriptor needs a name and a schema")
                continue
            for key in param:
                if key not in CD_KEYS and not key.startswith("x-"):
                    self.fail(pw, f"unknown member {key!r}")
            if param["name"] in param_schemas:
                self.fail(pw, f"duplicate param name {param['name']!r}")
            param_schemas[param["name"]] = param
            self.check_schema(f"{where} param {param['name']}", param["schema"])
        result = self.deref(method.get("result"))
        if not isinstance(result, dict) or not isinstance(result.get("name"), str) or "schema" not in result:
            self.fail(where, "result must be a content descriptor with a name and a schema")
            result = None
        else:
            self.check_schema(f"{where} result", result["schema"])
        for e_index, error in enumerate(method.get("errors", [])):
            if isinstance(error, dict) and "$ref" in error:
                if not str(error["$ref"]).startswith("#/components/errors/"):
                    self.fail(f"{where} error {e_index}", "error references must point into components.errors")
            elif not (isinstance(error, dict) and isinstance(error.get("code"), int) and isinstance(error.get("message"), str)):
                self.fail(f"{where} error {e_index}", "needs an integer code and a string message")
        for e_index, example in enumerate(method.get("examples", [])):
            ew = f"{where} example {example.get('name', e_index)!r}"
            if not isinstance(example.get("name"), str) or not isinstance(example.get("params"), list) or "result" not in example:
                self.fail(ew, "an example pairing needs name, params and result")
                continue
            given = set()
            for item in example["params"]:
                if not isinstance(item, dict) or "name" not in item or "value" not in item:
                    self.fail(ew, "each example param needs name and value")
                    continue
                given.add(item["name"])
                if item["name"] not in param_schemas:
                    self.fail(ew, f"example param {item['name']!r} is not a param of the method")
                    continue
                self.check_example(f"{ew} param {item['name']}", param_schemas[item["name"]]["schema"], item["value"])
            for p_name, param in param_schemas.items():
                if param.get("required") and p_name not in given:
                    self.fail(ew, f"required param {p_name!r} missing from the example")
            if result is not None and isinstance(example["result"], dict) and "value" in example["result"]:
                self.check_example(f"{ew} result", result["schema"], example["result"]["value"])

    def check_notifications(self):
        notifications = self.doc.get("x-notifications")
        if not isinstance(notifications, list) or not notifications:
            self.fail("x-notifications", "must be a non-empty array")
            return
        method_names = {m.get("name") for m in self.doc.get("methods", []) if isinstance(m, dict)}
        seen = set()
        for index, note in enumerate(notifications):
            where = f"x-notifications[{index}]"
            if not isinstance(note, dict) or not isinstance(note.get("name"), str) or "params" not in note:
                self.fail(where, "needs a name and a params schema")
                continue
            where = f"notification {note['name']}"
            if note["name"] in seen:
                self.fail(where, "name is not unique")
            seen.add(note["name"])
            for key in note:
                if key not in NOTIFICATION_KEYS and not key.startswith("x-"):
                    self.fail(where, f"unknown member {key!r}")
            if note.get("direction") not in ("worker-to-host", "host-to-worker"):
                self.fail(where, "direction must be worker-to-host or host-to-worker")
            if note.get("x-status") not in STATUSES:
                self.fail(where, f"x-status must be one of {sorted(STATUSES)}")
            for sender in note.get("sentBy", []):
                if sender not in method_names:
                    self.fail(where, f"sentBy names an unknown method {sender!r}")
            self.check_schema(f"{where} params", note["params"])
            for e_index, example in enumerate(note.get("examples", [])):
                self.check_example(f"{where} example {e_index}", note["params"], example)

    def check_errors(self):
        components = self.doc.get("components", {}).get("errors", {})
        listed = self.doc.get("x-errors")
        if not isinstance(listed, list):
            self.fail("x-errors", "must be an array of {code, name, message}")
            return
        by_name = {}
        for index, error in enumerate(listed):
            if not isinstance(error, dict) or not isinstance(error.get("code"), int) or not isinstance(error.get("name"), str):
                self.fail(f"x-errors[{index}]", "needs an integer code and a name")
                continue
            by_name[error["name"]] = error["code"]
        codes = {name: e.get("code") for name, e in components.items()}
        if by_name != codes:
            self.fail("x-errors", f"disagrees with components.errors: {by_name} vs {codes}")
        if len(set(codes.values())) != len(codes):
            self.fail("components.errors", "codes are not unique")

    # ── optional checks ────────────────────────────────────────────────

    def check_meta_schema(self, path):
        with open(path, encoding="utf-8") as handle:
            meta = json.load(handle)
        openrpc = meta.get("properties", {}).get("openrpc")
        if isinstance(openrpc, dict) and "enum" in openrpc:
            # The published file carries a placeholder enum that its build replaces with the versions.
            openrpc.pop("enum")
            openrpc["pattern"] = r"^1\.[0-9]+\.[0-9]+$"
        # Releases point at the JSON Schema meta-schema by URL (json-schema.org draft-07, or
        # meta.json-schema.tools); use jsonschema's own copy of draft-07 so that nothing is fetched.
        def offline(node):
            if isinstance(node, dict):
                target = node.get("$ref")
                if isinstance(target, str) and re.match(r"^https?://(meta\.json-schema\.tools|json-schema\.org)", target):
                    whole = re.fullmatch(r"https?://(meta\.json-schema\.tools/?#?|json-schema\.org/draft-07/schema#?)", target)
                    return Draft7Validator.META_SCHEMA if whole else {}
                return {key: offline(value) for key, value in node.items()}
            if isinstance(node, list):
                return [offline(value) for value in node]
            return node
        meta = offline(meta)
        if not str(meta.get("$schema", "")).startswith("http://json-schema.org/"):
            meta["$schema"] = "http://json-schema.org/draft-07/schema#"
        try:
            validator = Draft7Validator(meta)
            errors = sorted(validator.iter_errors(self.doc), key=lambda e: list(e.absolute_path))
        except Exception as error:
            self.fail("meta-schema", f"could not validate: {type(error).__name__}: {str(error).splitlines()[0][:200]}")
            return
        for error in errors[:20]:
            path_text = "/".join(map(str, error.absolute_path)) or "(root)"
            self.fail("meta-schema", f"at {path_text}: {error.message[:300]}")

    def check_worker(self, binary):
        request = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "1.0"}})
        try:
            done = subprocess.run([binary], input=(request + "\n").encode(), capture_output=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired) as error:
            self.fail("worker", f"could not run {binary}: {error}")
            return
        response = None
        for line in done.stdout.decode("utf-8", "replace").splitlines():
            if line.strip():
                message = json.loads(line)
                if isinstance(message, dict) and message.get("id") == 1:
                    response = message
        if not response or "result" not in response:
            self.fail("worker", f"no initialize result: {done.stdout[:500]!r}")
            return
        result = response["result"]
        initialize = next(m for m in self.doc["methods"] if m["name"] == "initialize")
        self.check_example("worker initialize result", initialize["result"]["schema"], result)
        served = result.get("methods", [])
        if not isinstance(served, list):
            self.fail("worker", f"initialize result's methods is not an array: {served!r}")
            return
        if len(set(served)) != len(served):
            self.fail("worker", f"initialize lists a method twice: {sorted(n for n in set(served) if served.count(n) > 1)}")
        served = set(served)
        documented = {m["name"]: m.get("x-status") for m in self.doc["methods"]}
        for name in sorted(served - set(documented)):
            self.fail("worker", f"serves {name!r}, which the document lacks")
        for name in sorted(set(documented) - served):
            self.fail("worker", f"does not serve {name!r}, which the document describes (x-status {documented[name]!r})")
        for name in sorted(served & set(documented)):
            if documented[name] != "implemented":
                self.fail("worker", f"serves {name!r}, which the document still marks x-status {documented[name]!r}")

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("document", nargs="?", default=DEFAULT_DOC)
    parser.add_argument("--meta-schema", help="a local copy of the OpenRPC meta-schema (schema.json) to validate against")
    parser.add_argument("--worker", help="a worker binary whose initialize result is compared with the document")
    args = parser.parse_args()
    try:
        with open(args.document, encoding="utf-8") as handle:
            doc = json.load(handle)
    except (OSError, json.JSONDecodeError) as error:
        print(f"check_openrpc: {args.document}: {error}", file=sys.stderr)
        return 1
    checker = Checker(doc)
    checker.run()
    if args.meta_schema:
        checker.check_meta_schema(args.meta_schema)
    if args.worker:
        checker.check_worker(args.worker)
    for problem in checker.problems:
        print(f"check_openrpc: {problem}", file=sys.stderr)
    methods = len(doc.get("methods", [])) if isinstance(doc, dict) else 0
    schemas = len(doc.get("components", {}).get("schemas", {})) if isinstance(doc, dict) else 0
    if checker.problems:
        print(f"check_openrpc: {len(checker.problems)} problem(s) in {args.document}", file=sys.stderr)
        return 1
    print(f"check_openrpc: ok: {methods} methods, {schemas} schemas, "
          f"{len(doc.get('x-notifications', []))} notifications, {len(doc.get('x-errors', []))} error codes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
