"""Validate a modelseal export with the official schemas and validators.

    python3 tests/export/validate.py FORMAT FILE [PUBLIC_KEY_PEM]

FORMAT is cyclonedx, spdx, intoto or slsa. The schemas are read from
tests/export/schemas/ (copies of the official CycloneDX 1.6 and SPDX 3.0.1
files, for offline validation):

- cyclonedx: JSON Schema bom-1.6 (with spdx.schema.json and jsf-0.82);
- spdx: JSON Schema 3.0.1, then SHACL (pyshacl) against spdx-model.ttl, the
  document read as JSON-LD with the local spdx-context.jsonld;
- intoto, slsa: every line is a statement, or a DSSE envelope around one;
  each parses into the in-toto-attestation package's protobuf Statement and
  passes its validate(); SLSA predicates parse strictly into its Provenance
  v1 message. With PUBLIC_KEY_PEM, every envelope's Ed25519 signature over
  the DSSE PAE must verify with Python's `cryptography`.

Prints one line per document and exits 1 on the first failure.
"""

import base64
import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
SCHEMAS = HERE / "schemas"


def fail(why):
    print(f"INVALID: {why}")
    sys.exit(1)


def validate_json_schema(document, schema_file, extra=()):
    import jsonschema
    from referencing import Registry, Resource

    schema = json.loads(schema_file.read_text())
    resources = []
    for f in extra:
        s = json.loads(f.read_text())
        resources.append((f.name, Resource.from_contents(s)))
        if "$id" in s:
            resources.append((s["$id"], Resource.from_contents(s)))
    registry = Registry().with_resources(resources)
    cls = jsonschema.validators.validator_for(schema)
    validator = cls(schema, registry=registry, format_checker=cls.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    if errors:
        e = errors[0]
        fail(f"{len(errors)} schema error(s); first at {list(e.path)}: {e.message[:300]}")


def cyclonedx(text):
    d = SCHEMAS / "cyclonedx-1.6"
    validate_json_schema(
        json.loads(text),
        d / "bom-1.6.schema.json",
        [d / "spdx.schema.json", d / "jsf-0.82.schema.json"],
    )
    print("cyclonedx: valid against bom-1.6")


def spdx(text):
    d = SCHEMAS / "spdx-3.0.1"
    document = json.loads(text)
    validate_json_schema(document, d / "schema.json")
    import pyshacl
    import rdflib

    context = json.loads((d / "spdx-context.jsonld").read_text())["@context"]
    local = dict(document)
    local["@context"] = context
    data = rdflib.Graph().parse(data=json.dumps(local), format="json-ld")
    shapes = rdflib.Graph().parse(d / "spdx-model.ttl", format="turtle")
    conforms, _, report = pyshacl.validate(data, shacl_graph=shapes, ont_graph=shapes)
    if not conforms:
        fail("SHACL: " + report[:2000])
    print(f"spdx: valid against the 3.0.1 JSON Schema and SHACL ({len(data)} triples)")


def statements(text, public_key):
    from in_toto_attestation.v1.statement import Statement
    import in_toto_attestation.v1.statement_pb2 as spb
    from google.protobuf import json_format

    out = []
    lines = [l for l in text.splitlines() if l.strip()]
    if not lines:
        fail("no statement")
    for n, line in enumerate(lines, 1):
        value = json.loads(line)
        if "payloadType" in value:
            if value["payloadType"] != "application/vnd.in-toto+json":
                fail(f"line {n}: payloadType {value['payloadType']}")
            payload = base64.b64decode(value["payload"])
            if public_key is not None:
                verify_dsse(value, payload, public_key, n)
            value = json.loads(payload)
        pb = json_format.ParseDict(value, spb.Statement())
        Statement.copy_from_pb(pb).validate()
        out.append(value)
    return out


def verify_dsse(envelope, payload, public_key, n):
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    key = load_pem_public_key(public_key.read_bytes())
    ptype = envelope["payloadType"].encode()
    pae = b"DSSEv1 %d %s %d %s" % (len(ptype), ptype, len(payload), payload)
    if not envelope.get("signatures"):
        fail(f"line {n}: an envelope without signatures")
    for sig in envelope["signatures"]:
        key.verify(base64.b64decode(sig["sig"]), pae)  # raises InvalidSignature


def intoto(text, public_key):
    for s in statements(text, public_key):
        print(f"intoto: valid Statement v1, {len(s['subject'])} subject(s), predicate {s['predicateType']}")


def slsa(text, public_key):
    from google.protobuf import json_format
    import in_toto_attestation.predicates.provenance.v1.provenance_pb2 as ppb

    for s in statements(text, public_key):
        if s["predicateType"] != "https://slsa.dev/provenance/v1":
            fail(f"predicateType {s['predicateType']}")
        prov = json_format.ParseDict(s["predicate"], ppb.Provenance())
        bd, rd = prov.build_definition, prov.run_details
        if not bd.build_type or not rd.builder.id or not bd.external_parameters:
            fail("SLSA v1 needs buildType, externalParameters and builder.id")
        for dep in bd.resolved_dependencies:
            if not (dep.name or dep.uri or dep.digest):
                fail("a resolved dependency without name, uri or digest")
        print(f"slsa: valid Provenance v1, {len(s['subject'])} subject(s), {len(bd.resolved_dependencies)} resolved dependencies")


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__)
        sys.exit(2)
    fmt, text = sys.argv[1], pathlib.Path(sys.argv[2]).read_text()
    key = pathlib.Path(sys.argv[3]) if len(sys.argv) == 4 else None
    if fmt == "cyclonedx":
        cyclonedx(text)
    elif fmt == "spdx":
        spdx(text)
    elif fmt == "intoto":
        intoto(text, key)
    elif fmt == "slsa":
        slsa(text, key)
    else:
        fail(f"unknown format {fmt}")


if __name__ == "__main__":
    main()
