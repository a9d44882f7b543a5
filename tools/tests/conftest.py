import os
import sys

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(TOOLS)
sys.path.insert(0, TOOLS)
DATA = os.path.join(REPO, "tests", "data")
MODELS = os.path.join(REPO, "models")
