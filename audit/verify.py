"""The offline verifier's former name, still accepted: `python -m audit.verify …` runs
`python -m audit.verifier …` (audit/verifier/verify.py)."""

import sys

from audit.verifier.verify import main

if __name__ == "__main__":
    sys.exit(main())
