# The package is tested from its folder, without installing it.
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
