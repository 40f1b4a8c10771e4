# modelseal signatures over provenance.toml (see manifests/SPEC.md).
[[signature]]
keyid = "a4e4e1e3fc3d078c595983dfff1808948dbea7ca3387f283e913709eee8d7109"
public_key = "JCD5jtvWr8/5/RVhpNryLx+OL2CZ6kdvSpAXLFd5x1M="
algorithm = "ed25519"
signature = "7vCsI2lbN0SRRdlSIZuOq+RNrCPHZRqQkRx/xr+r5o7WQVnZXDo1xBBfuLxStMu52QUfc3CjyOueyljwI3z4Ag=="
signer = "modelseal test key (TEST ONLY)"
created = 2026-11-26T10:58:12Z
