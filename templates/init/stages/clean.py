"""A command stage: spillway runs `python3 stages/clean.py` (no shell) from the project root.

How it talks to spillway, through environment variables (see spillway's docs/pipeline-format.md, "Command stages"):
  SPILLWAY_PARAMS_FILE  a JSON file with the params this stage declares, nested: {"clean": {"min_value": 0}}
  SPILLWAY_DEPS         a JSON list of the absolute paths of its deps
  SPILLWAY_OUT_ROWS     where to write the `rows` output; spillway validates it against schemas/rows.schema.json
A non-zero exit (an uncaught exception) fails the stage and shows its last output.
"""
import csv
import json
import os
import sys

with open(os.environ["SPILLWAY_PARAMS_FILE"], encoding="utf-8") as f:
    params = json.load(f)
min_value = float(params["clean"]["min_value"])

(data_file,) = json.loads(os.environ["SPILLWAY_DEPS"])
rows, dropped = [], 0
with open(data_file, newline="", encoding="utf-8") as f:
    for line, record in enumerate(csv.DictReader(f), start=2):
        try:
            value = float(record["value"])
        except ValueError:
            sys.exit(f"{data_file}:{line}: value {record['value']!r} is not a number")
        if value < min_value:
            dropped += 1
            continue
        rows.append({"site": record["site"], "day": int(record["day"]), "value": value})

print(f"kept {len(rows)} rows, dropped {dropped} below {min_value}")
with open(os.environ["SPILLWAY_OUT_ROWS"], "w", encoding="utf-8") as f:
    json.dump({"min_value": min_value, "dropped": dropped, "rows": rows}, f)
