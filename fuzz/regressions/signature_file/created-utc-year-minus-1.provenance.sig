# modelseal signatures over provenance.toml (see manifests/SPEC.md).
[[signature]]
keyid = "a4e4e1e3fc3d078c595983dfff1808948dbea7ca3387f283e913709eee8d7109"
public_key = "JCD5jtvWr8/5/RVhpNryLx+OL2CZ6kdvSpAXLFd5x1M="
algorithm = "ed25519"
signature = "iyOoltHjQF3Z0/sHHUOX/NeAcMTHYqdZ+Haw+LjlZpO9oEUUX0EpOYjmWxYvCKSFJJVYiigcynlx9AtsM7qVAw=="
signer = "modelseal test key (TEST ONLY)"
created = 0000-01-01T00:30:00+01:00
