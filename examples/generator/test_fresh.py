"""The committed fixtures are exactly what the generator writes (run by scripts/test:
`python3 -m unittest discover -s examples/generator`). After changing the generator,
run `python3 examples/generator/main.py` and commit the fixtures with it."""

import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.dirname(HERE)
FIXTURES = ["bleater-incident.yaml", "bleater-healthy.yaml", "shop-incident.yaml", "orders-incident.yaml",
            "storage-incident.yaml", "ledger-healthy.yaml", "ledger-incident.yaml",
            "cluster-incident.yaml"]


class FixturesAreFresh(unittest.TestCase):
    def test_generator_output_matches_the_committed_fixtures(self):
        with tempfile.TemporaryDirectory() as out:
            subprocess.run([sys.executable, os.path.join(HERE, "main.py"), out], check=True)
            for name in FIXTURES:
                with open(os.path.join(out, name), "rb") as generated, open(os.path.join(EXAMPLES, name), "rb") as committed:
                    self.assertEqual(
                        generated.read(), committed.read(),
                        f"examples/{name} is stale: run python3 examples/generator/main.py and commit it",
                    )


if __name__ == "__main__":
    unittest.main()
