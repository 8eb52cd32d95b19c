#!/usr/bin/env python3
"""Checks protocol/examples/*.jsonl against openrpc.json and against a live worker.

  python3 protocol/tools/check_examples.py [--worker BINARY] [--no-replay] [--doc openrpc.json] [FILE ...]

1. Schema: every line is {"direction": "send"|"recv", "message": …} (or {"direction": "send", "raw": text},
   a deliberately malformed line). Every message is checked against the document: a request's params
   against the method's params (unless the worker rejected it as invalid: -32700, -32600, -32601, -32602);
   a response's result against the result schema of the method of the request with that id, an error
   against components.schemas.ErrorObject, with a documented code that the method lists (codes every
   method may return aside); a notification's params against its x-notifications schema, and its
   requestId must name a request, in the file, of a method the notification's sentBy lists. Every request
   gets exactly one response.
2. Replay (unless --no-replay): each file's sends go, in order, to a fresh worker ($OPENLATTICE_DOCKER_WORKER,
   --worker, or .build/debug); before each send the replay waits for what the recording had received by
   then. The externalId (and nodeId, name, image, createdAt, execId, uploadId) a replayed provision, restore, snapshot, list, exec or files.upload
   answered replaces the recorded one in later sends, and the openlattice.test label / config.ownerId value
   "examples" becomes a value of the replay's own. Each replayed response must have the shape of the
   recorded one: the same keys, the same JSON types per key, recursively (strings, numbers, array lengths
   may differ; an array's elements each have the shape of some element of the other), and the same error
   code. Each replayed notification must have the shape of one recorded for the same request and method,
   and every request that had notifications of a method gets at least one. The containers and snapshot
   images a replay makes are removed at the end.

Exit status 1 on any mismatch. Needs the `jsonschema` package (4.x).
"""
import argparse
import copy
import glob
import json
import os
import sys
import time
import uuid

try:
    from jsonschema import Draft7Validator
except ImportError:  # pragma: no cover
    print("check_examples: the jsonschema package is required (pip install jsonschema)", file=sys.stderr)
    sys.exit(2)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from worker_session import (DOC_PATH, EXAMPLES_DIR, ROOT, RUN_TOKEN, TOKEN_KEYS, WorkerSession,  # noqa: E402
                            remove_images, remove_labelled, snapshot_images, worker_binary)

# Errors any request may get, whatever its method lists.
GENERIC_CODES = {-32700, -32600, -32601, -32002, -32800, -32603}
# A request answered with one of these was meant to be invalid: its params are not checked.
REJECTED_CODES = {-32700, -32600, -32601, -32602}
# Result members whose recorded values a replay replaces with its own in later sends.
SUBSTITUTED_KEYS = {"externalId", "nodeId", "name", "image", "createdAt", "execId", "uploadId"}
SUBSTITUTING_METHODS = {"provision", "restore", "snapshot", "list", "exec", "files.upload"}
WAIT_SECONDS = 90.0


def id_key(value):
    """A hashable key for a JSON-RPC id (1 and "1" differ)."""
    return json.dumps(value)


# ── the document ─────────────────────────────────────────────────────

class Document:
    def __init__(self, doc):
        self.doc = doc
        self.methods = {m["name"]: m for m in doc["methods"]}
        self.notifications = {n["name"]: n for n in doc.get("x-notifications", [])}
        self.error_codes = {e["code"] for e in doc["components"].get("errors", {}).values()}

    def resolve(self, node):
        while isinstance(node, dict) and "$ref" in node and len(node) == 1:
            target = self.doc
            for part in node["$ref"][2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def errors(self, schema, value):
        wrapper = {"$schema": "http://json-schema.org/draft-07/schema#",
                   "components": self.doc["components"], "allOf": [schema]}
        found = sorted(Draft7Validator(wrapper).iter_errors(value), key=lambda e: list(e.absolute_path))
        return [f"at {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:240]}" for e in found[:5]]

    def params_schema(self, method):
        properties, required = {}, []
        for param in self.methods[method]["params"]:
            param = self.resolve(param)
            properties[param["name"]] = param["schema"]
            if param.get("required"):
                required.append(param["name"])
        return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}

    def result_schema(self, method):
        return self.resolve(self.methods[method]["result"])["schema"]

    def method_codes(self, method):
        return {self.resolve(e).get("code") for e in self.methods[method].get("errors", [])}


# ── static checks ────────────────────────────────────────────────────

def messages_of(entry):
    message = entry.get("message")
    return message if isinstance(message, list) else [message]


def load(path):
    entries, problems = [], []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError as error:
                problems.append(f"line {number}: not JSON: {error}")
                continue
            if not isinstance(entry, dict) or entry.get("direction") not in ("send", "recv"):
                problems.append(f"line {number}: needs direction \"send\" or \"recv\"")
                continue
            has_message, has_raw = "message" in entry, "raw" in entry
            if has_message == has_raw or (has_raw and (entry["direction"] != "send" or not isinstance(entry["raw"], str))):
                problems.append(f"line {number}: needs exactly one of message, or raw (a string, on sends only)")
                continue
            if set(entry) - {"direction", "message", "raw"}:
                problems.append(f"line {number}: unknown members {sorted(set(entry) - {'direction', 'message', 'raw'})}")
            entry["line"] = number
            entries.append(entry)
    return entries, problems


def check_static(doc, entries):
    problems = []
    requests = {}   # id key -> (method, line)
    answered = {}   # id key -> count
    responses = {}  # id key -> response
    for entry in entries:
        if entry["direction"] == "recv":
            for item in messages_of(entry):
                if isinstance(item, dict) and "method" not in item and item.get("id") is not None:
                    responses.setdefault(id_key(item.get("id")), item)

    for entry in entries:
        where = f"line {entry['line']}"
        if "raw" in entry:
            continue
        if entry["direction"] == "send":
            if entry["message"] == []:
                continue  # an empty batch, answered -32600 with id null
            for item in messages_of(entry):
                if not isinstance(item, dict):
                    problems.append(f"{where}: a sent message must be an object")
                    continue
                if "id" not in item:
                    name = item.get("method")
                    note = doc.notifications.get(name)
                    if not note or note.get("direction") != "host-to-worker":
                        problems.append(f"{where}: {name!r} is not a documented host-to-worker notification")
                        continue
                    problems += [f"{where}: {name} params {p}" for p in doc.errors(note["params"], item.get("params"))]
                    continue
                method = item.get("method")
                key = id_key(item["id"])
                requests[key] = (method, entry["line"])
                response = responses.get(key)
                rejected = response is not None and (response.get("error") or {}).get("code") in REJECTED_CODES
                if rejected:
                    continue
                if item.get("jsonrpc") != "2.0":
                    problems.append(f"{where}: jsonrpc must be \"2.0\"")
                if method not in doc.methods:
                    problems.append(f"{where}: method {method!r} is not in the document")
                    continue
                params = item.get("params", {})
                problems += [f"{where}: {method} params {p}" for p in doc.errors(doc.params_schema(method), params)]
            continue

        # recv
        for item in messages_of(entry):
            if not isinstance(item, dict) or item.get("jsonrpc") != "2.0":
                problems.append(f"{where}: a received message must be a JSON-RPC 2.0 object")
                continue
            if "method" in item:
                name = item["method"]
                note = doc.notifications.get(name)
                if not note or note.get("direction") != "worker-to-host":
                    problems.append(f"{where}: {name!r} is not a documented worker-to-host notification")
                    continue
                problems += [f"{where}: {name} params {p}" for p in doc.errors(note["params"], item.get("params"))]
                request_id = (item.get("params") or {}).get("requestId")
                sender = requests.get(id_key(request_id), (None,))[0]
                if sender is None:
                    problems.append(f"{where}: {name} names requestId {request_id!r}, which no earlier request had")
                elif sender not in note.get("sentBy", []):
                    problems.append(f"{where}: {name} belongs to a {sender} request, but its sentBy is {note.get('sentBy')}")
                continue
            if ("result" in item) == ("error" in item) or "id" not in item:
                problems.append(f"{where}: a response needs an id and exactly one of result and error")
                continue
            if item["id"] is None:
                code = (item.get("error") or {}).get("code")
                if code not in (-32700, -32600):
                    problems.append(f"{where}: a response with id null must be -32700 or -32600, got {code}")
                problems += [f"{where}: error {p}" for p in doc.errors({"$ref": "#/components/schemas/ErrorObject"}, item.get("error"))]
                continue
            key = id_key(item["id"])
            answered[key] = answered.get(key, 0) + 1
            method = requests.get(key, (None,))[0]
            if method is None:
                problems.append(f"{where}: response to id {item['id']!r}, which no earlier request had")
                continue
            if "error" in item:
                problems += [f"{where}: {method} error {p}" for p in doc.errors({"$ref": "#/components/schemas/ErrorObject"}, item["error"])]
                code = item["error"].get("code") if isinstance(item["error"], dict) else None
                if code not in doc.error_codes:
                    problems.append(f"{where}: {method} error code {code} is not in components.errors")
                elif method in doc.methods and code not in GENERIC_CODES and code not in doc.method_codes(method):
                    problems.append(f"{where}: {method} answered error {code}, which the method's errors do not list")
            elif method in doc.methods:
                problems += [f"{where}: {method} result {p}" for p in doc.errors(doc.result_schema(method), item["result"])]
            else:
                problems.append(f"{where}: a result for {method!r}, which the document lacks")

    for key, (method, line) in requests.items():
        count = answered.get(key, 0)
        if count != 1:
            problems.append(f"line {line}: request {key} ({method}) got {count} responses, not exactly one")
    return problems


# ── shapes ───────────────────────────────────────────────────────────

def kind(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def shape_diff(recorded, live, path="$"):
    """Differences in shape between a recorded and a replayed value (empty when alike)."""
    if kind(recorded) != kind(live):
        return [f"{path}: recorded {kind(recorded)}, replay {kind(live)}"]
    if isinstance(recorded, dict):
        out = []
        missing, extra = sorted(set(recorded) - set(live)), sorted(set(live) - set(recorded))
        if missing:
            out.append(f"{path}: replay lacks {missing}")
        if extra:
            out.append(f"{path}: replay adds {extra}")
        for key in recorded:
            if key in live:
                out += shape_diff(recorded[key], live[key], f"{path}.{key}")
        return out
    if isinstance(recorded, list) and recorded and live:
        out = []
        for index, item in enumerate(live):
            if all(shape_diff(r, item) for r in recorded):
                out += [f"{p} (no recorded element has this shape)" for p in shape_diff(recorded[0], item, f"{path}[{index}]")]
        for index, item in enumerate(recorded):
            if all(shape_diff(item, l) for l in live):
                out.append(f"{path}: no replayed element has the shape of recorded element {index}")
        return out
    return []


def response_diff(recorded, live):
    out = shape_diff(recorded, live)
    if not out and "error" in recorded and isinstance(recorded["error"], dict) and isinstance(live.get("error"), dict):
        if recorded["error"].get("code") != live["error"].get("code"):
            out.append(f"$.error.code: recorded {recorded['error'].get('code')}, replay {live['error'].get('code')}")
    return out


# ── replay ───────────────────────────────────────────────────────────

class Replay:
    def __init__(self, binary, entries):
        self.entries = entries
        self.binary = binary
        self.token = f"examples-replay-{uuid.uuid4().hex[:8]}"
        self.substitutions = {}
        self.problems = []
        self.methods = {}  # id key -> method of recorded requests

    def substitute(self, value, key=None):
        if isinstance(value, dict):
            return {k: self.substitute(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.substitute(v) for v in value]
        if isinstance(value, str):
            if key in TOKEN_KEYS and value == RUN_TOKEN:
                return self.token
            return self.substitutions.get(value, value)
        return value

    def learn(self, recorded, live):
        """Remembers recorded→replayed values of the members that name things the replay made."""
        if isinstance(recorded, dict) and isinstance(live, dict):
            for key, value in recorded.items():
                if key not in live:
                    continue
                if key in SUBSTITUTED_KEYS and isinstance(value, str) and isinstance(live[key], str):
                    if value != live[key]:
                        self.substitutions[value] = live[key]
                elif key != "labels":
                    self.learn(value, live[key])
        elif isinstance(recorded, list) and isinstance(live, list) and len(recorded) == len(live):
            for r, l in zip(recorded, live):
                self.learn(r, l)

    def run(self):
        session = WorkerSession(self.binary)
        null_seen = 0
        recorded_notes = {}  # (method, id key) -> [params]
        try:
            for entry in self.entries:
                where = f"line {entry['line']}"
                if entry["direction"] == "send":
                    if "raw" in entry:
                        session.write_raw(entry["raw"])
                        continue
                    for item in messages_of(entry):
                        if isinstance(item, dict) and "id" in item and "method" in item:
                            self.methods[id_key(item["id"])] = item["method"]
                    session.write_message(self.substitute(copy.deepcopy(entry["message"])))
                    continue
                message = entry["message"]
                if isinstance(message, list):
                    ids = sorted(id_key(m.get("id")) for m in message)

                    def batch():
                        for m in session.received:
                            if isinstance(m, list) and sorted(id_key(x.get("id")) for x in m) == ids:
                                return m
                        return None
                    live = session.wait_for(batch, WAIT_SECONDS, f"the batch response of {where}")
                    by_id = {id_key(m.get("id")): m for m in live}
                    for item in message:
                        self.compare_response(where, item, by_id[id_key(item.get("id"))])
                elif "method" in message:
                    params = message.get("params") or {}
                    request_key = id_key(params.get("requestId"))
                    group = recorded_notes.setdefault((message["method"], request_key), [])
                    group.append(params)
                    self.wait_notification(session, where, message["method"], params.get("requestId"), len(group))
                elif message.get("id") is None:
                    null_seen += 1
                    count = null_seen
                    live = session.wait_for(
                        lambda: ([r for r in session._responses_unlocked() if r.get("id") is None][count - 1:count] or [None])[0],
                        WAIT_SECONDS, f"the id-null response of {where}")
                    self.compare_response(where, message, live)
                else:
                    live = session.response(message["id"], WAIT_SECONDS)
                    self.compare_response(where, message, live)
            status = session.close(timeout=5)
            if status != 0:
                self.problems.append(f"the worker exited with status {status}")
        except (TimeoutError, EOFError) as error:
            self.problems.append(f"replay stopped: {error}")
        finally:
            session.close(timeout=2)
            remove_images(snapshot_images(session.log))
            remove_labelled(self.token)
        self.check_notifications(session, recorded_notes)
        self.check_unexpected(session)
        if session.bad_lines:
            self.problems.append(f"non-JSON lines on the worker's stdout: {session.bad_lines[:3]}")
        return self.problems

    def compare_response(self, where, recorded, live):
        for problem in response_diff(recorded, live):
            self.problems.append(f"{where}: response {recorded.get('id')!r} "
                                 f"({self.methods.get(id_key(recorded.get('id')), '?')}): {problem}")
        if self.methods.get(id_key(recorded.get("id"))) in SUBSTITUTING_METHODS and "result" in recorded and "result" in live:
            self.learn(recorded["result"], live["result"])

    def wait_notification(self, session, where, method, request_id, ordinal):
        """Waits until the replay has the ordinal-th such notification, or the request's response
        arrived after at least one (streams may be cut into fewer chunks)."""
        def ready():
            notes = session.notifications(method, request_id)
            if len(notes) >= ordinal:
                return True
            answered = any(r.get("id") == request_id for r in session._responses_unlocked())
            if answered and notes:
                return True
            if answered:
                return "missing"
            return False
        state = session.wait_for(ready, WAIT_SECONDS, f"{method} #{ordinal} of request {request_id!r} ({where})")
        if state == "missing":
            self.problems.append(f"{where}: request {request_id!r} was answered without any {method} notification")

    def check_notifications(self, session, recorded_notes):
        seen = set()
        for note in session.notifications():
            params = note.get("params") or {}
            key = (note["method"], id_key(params.get("requestId")))
            seen.add(key)
            group = recorded_notes.get(key)
            if not group:
                self.problems.append(f"replay sent {note['method']} for request {params.get('requestId')!r}, "
                                     "which the recording has none of")
                continue
            diffs = [shape_diff(r, params) for r in group]
            if all(diffs):
                best = min(diffs, key=len)
                self.problems.append(f"{note['method']} for request {params.get('requestId')!r} has a shape "
                                     f"no recorded one has: {'; '.join(best[:3])}")
        for key in recorded_notes:
            if key not in seen:
                self.problems.append(f"the replay sent no {key[0]} for request {key[1]} (the recording has "
                                     f"{len(recorded_notes[key])})")

    def check_unexpected(self, session):
        recorded_ids = set()
        for entry in self.entries:
            if entry["direction"] == "recv":
                for item in messages_of(entry):
                    if isinstance(item, dict) and "method" not in item:
                        recorded_ids.add(id_key(item.get("id")))
        for response in session.responses():
            if id_key(response.get("id")) not in recorded_ids:
                self.problems.append(f"the replay got a response the recording lacks: {json.dumps(response)[:300]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", help="example files (default: protocol/examples/*.jsonl)")
    parser.add_argument("--doc", default=DOC_PATH, help="the OpenRPC document")
    parser.add_argument("--worker", help="the worker binary (default $OPENLATTICE_DOCKER_WORKER or .build/debug)")
    parser.add_argument("--no-replay", action="store_true", help="only check the files against the document")
    args = parser.parse_args()
    with open(args.doc, encoding="utf-8") as handle:
        doc = Document(json.load(handle))
    files = args.files or sorted(glob.glob(os.path.join(EXAMPLES_DIR, "*.jsonl")))
    if not files:
        print("check_examples: no example files", file=sys.stderr)
        return 1
    binary = worker_binary(args.worker)
    if not args.no_replay and not os.access(binary, os.X_OK):
        print(f"check_examples: no worker binary at {binary}", file=sys.stderr)
        return 1
    total = 0
    for path in files:
        name = os.path.relpath(path, ROOT)
        entries, problems = load(path)
        problems += check_static(doc, entries)
        replayed = ""
        if not args.no_replay and entries:
            started = time.monotonic()
            problems += Replay(binary, entries).run()
            replayed = f", replayed in {time.monotonic() - started:.1f}s"
        for problem in problems:
            print(f"check_examples: {name}: {problem}", file=sys.stderr)
        total += len(problems)
        if not problems:
            print(f"check_examples: ok: {name}: {len(entries)} lines{replayed}")
    if total:
        print(f"check_examples: {total} problem(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
