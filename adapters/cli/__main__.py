import sys

from openmailer.adapters.cli import main

sys.exit(main())
