"""Read py-spy's collapsed stacks (`bench/classroom.py --py-spy DIR` writes them) and say where
the server's threads spend their samples: per thread group, the share of samples in each
of the project's functions (inclusive) and in the innermost frames (self).

    .venv/bin/python bench/spy_summary.py DIR/class.txt [--top 25] [--match sandbox/worker]
"""

import argparse
import re
import sys
from collections import Counter, defaultdict

THREAD = re.compile(r"^thread \(\d+\): ?(.*)$")
FRAME = re.compile(r"^(.*) \(([^():]+):(\d+)\)$")
PROJECT = ("sandbox/", "lessons/", "triggers/", "config/")


def group_of(thread_name):
    """Executor threads are numbered per executor: group them by role, not by number."""
    name = re.sub(r"-\d+(_\d+)?$", "", thread_name or "main")
    return re.sub(r"_\d+$", "", name)


def parse(path):
    """Yield (thread group, [(function, file), ...] outermost first, samples)."""
    with open(path) as lines:
        for line in lines:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            parts = stack.split(";")
            thread = THREAD.match(parts[0])
            name = thread.group(1) if thread else ""
            frames = []
            for part in parts[1:] if thread else parts:
                match = FRAME.match(part)
                if match:
                    frames.append((match.group(1), match.group(2)))
            yield group_of(name), frames, int(count)


def summarise(path, top, match):
    totals = Counter()
    inclusive = defaultdict(Counter)
    leaf = defaultdict(Counter)
    for group, frames, count in parse(path):
        totals[group] += count
        seen = set()
        for function, filename in frames:
            key = f"{function} ({filename})"
            if filename.startswith(PROJECT) and key not in seen and (not match or match in filename):
                inclusive[group][key] += count
                seen.add(key)
        if frames:
            function, filename = frames[-1]
            leaf[group][f"{function} ({filename})"] += count
    grand = sum(totals.values())
    print(f"{grand} samples in {path}")
    for group, samples in totals.most_common():
        print(f"\n== {group}: {samples} samples ({100 * samples / grand:.1f}%)")
        print("  project functions, inclusive:")
        for key, n in inclusive[group].most_common(top):
            print(f"    {100 * n / samples:5.1f}%  {key}")
        print("  innermost frames (self):")
        for key, n in leaf[group].most_common(top // 2):
            print(f"    {100 * n / samples:5.1f}%  {key}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--match", help="only project files whose path contains this")
    args = parser.parse_args(argv)
    summarise(args.path, args.top, args.match)
    return 0


if __name__ == "__main__":
    sys.exit(main())
