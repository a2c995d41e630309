import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/_vectors.py and helpers
