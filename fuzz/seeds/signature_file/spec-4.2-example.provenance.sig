[[signature]]
keyid = "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9"
public_key = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
algorithm = "ed25519"
signature = "He4WuMffrpefCIjer9F+VbqTmeoBiyPyh4hd6wyOqjN1KVrLTBDHEvGI6bhmlgiE1rdrRQ/dUqwgUxL7I5ZxCw=="
signer = "RFC 8032 test key (public; never trust it)"
created = 2026-11-26T10:00:00Z
