"""``python -m ser_lib predict AUDIO [AUDIO ...] [--model PATH] [--json]``."""

from __future__ import annotations

import argparse
import json
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ser_lib", description="Speech-emotion-recognition report tools.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("predict", help="predict the emotion of audio files with a saved model")
    p.add_argument("audio", nargs="+", help="audio files (wav, flac, ogg/opus, aiff; any rate, mono or stereo)")
    p.add_argument("--model", default=None, help="saved model (.keras with its .json; default reports/models/crema-d.keras)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)

    from .predict import ModelNotFoundError, format_table, predict

    try:
        results = predict(args.audio, model_path=args.model)
    except ModelNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(results, indent=1) if args.json else format_table(results))
    errors = [r for r in results if "error" in r]
    for r in errors:
        print(f"error: {r['file']}: {r['error']}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
