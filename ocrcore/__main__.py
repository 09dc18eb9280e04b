import sys

from ocrcore.cli import main

sys.exit(main())
