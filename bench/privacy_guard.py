"""How long the privacy guard takes per label: ordinary outlets and hostile 2,000-character inputs.

    python -m bench.privacy_guard

Prints microseconds per ``safe_label`` call. The guard reads at most ``MAX_SCAN`` characters
with patterns that have no nested repetition, so the hostile figures stay in the same order as
a long ordinary label (decision 0012).
"""

from __future__ import annotations

import time

from bot.privacy import MAX_SCAN, safe_label

CASES = {
    "ordinary outlet": "Evening Post",
    "outlet with identifiers": "<!channel> Post 13/03/2019 943 476 5919 CR2 6XH jo@x.example",
    "2,000 digits": "1" * MAX_SCAN,
    "2,000 '1 '": "1 " * (MAX_SCAN // 2),
    "2,000 'a@'": "a@" * (MAX_SCAN // 2),
    "2,000 '13/'": "13/" * (MAX_SCAN // 3),
    "2,000 '+44 0'": "+44 0" * (MAX_SCAN // 5),
    "100,000 letters (cut)": "a" * 100_000,
}


def main(rounds: int = 300) -> None:
    print(f"{'input':28} {'us/call':>10}")
    for name, text in CASES.items():
        started = time.perf_counter()
        for _ in range(rounds):
            safe_label(text, field="outlet")
        per_call = (time.perf_counter() - started) / rounds * 1e6
        print(f"{name:28} {per_call:10.1f}")


if __name__ == "__main__":
    main()
