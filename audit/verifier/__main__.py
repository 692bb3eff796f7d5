"""`python -m audit.verifier BUNDLE …`: the offline verifier (audit/verifier/verify.py)."""

import sys

from audit.verifier.verify import main

sys.exit(main())
