"""Prints, as JSON, what PyPI's flufl.bounce (an independent DSN parser, the
one GNU Mailman uses) finds in each .eml file of a directory:
{"name.eml": {"temporary": [...addresses], "permanent": [...addresses]}}.
Run with the Python of .build/pyenv (make pyenv)."""
import email, json, pathlib, sys
from flufl.bounce import all_failures

verdicts = {}
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.eml")):
    message = email.message_from_bytes(path.read_bytes())
    temporary, permanent = all_failures(message)
    verdicts[path.name] = {
        "temporary": sorted(a.decode() if isinstance(a, bytes) else a for a in temporary),
        "permanent": sorted(a.decode() if isinstance(a, bytes) else a for a in permanent),
    }
print(json.dumps(verdicts, indent=1))
