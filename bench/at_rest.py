"""What encryption at rest costs the intake (decision 0029), apart from the database's own noise:
the intake corpus's 2,000 messages (bench/intake_corpus.py, the same bytes ``bench.intake`` ingests)
sealed as the intake seals them: the raw bytes (compressed first when worth it), the sender, the
keyed hash of the digest, and each decoded attachment's file and name. Prints the time a message,
against the 3.33 ms a message the 300 msg/s target allows, and what compression saves.

Run with ``python -m bench.at_rest``; ``bench.intake`` gives the end-to-end rate with it included.
"""

from __future__ import annotations

import email
import statistics
import time
from email import policy

from bench._common import percentile, print_table
from bench.intake_corpus import SentRequest, generate
from bot.at_rest import Keyring, StoredKey, compressed, fingerprint, generate_kek, wrap

BUDGET_MS = 1000 / 300


def keyring() -> Keyring:
    kek = generate_kek()
    ring = Keyring(kek)
    ring.load_from([StoredKey(1, "data", fingerprint(kek), wrap(kek, generate_kek(), "data")),
                    StoredKey(2, "lookup", fingerprint(kek), wrap(kek, generate_kek(), "lookup"))])
    return ring


def corpus() -> list[tuple[str, bytes]]:
    requests = [SentRequest(f"SI-2026-{i:04d}", "police", f"<req.{i}@partnership.example>",
                            f"[SI-2026-{i:04d}] Information request") for i in range(2000)]
    return generate(requests)


def attachments(raw: bytes) -> list[tuple[bytes, bytes]]:
    """(payload, file name) of each attachment: what the intake has decoded by the time it seals."""
    message = email.message_from_bytes(raw, policy=policy.default)
    return [(part.get_payload(decode=True) or b"", str(part.get_filename()).encode())
            for part in message.iter_attachments()]  # type: ignore[attr-defined]


def seal_message(ring: Keyring, raw: bytes, files: list[tuple[bytes, bytes]]) -> int:
    """Seal what the intake stores of one message (its digest is worked out by the intake anyway,
    its keyed hash is counted here); returns the bytes stored."""
    stored = len(ring.seal(raw, "inboundmessage.raw", compress=True))
    ring.seal(b"sender@agency.example", "inboundmessage.from_addr")
    ring.lookup_hash("0" * 64)
    for payload, name in files:
        stored += len(ring.seal(payload, "attachment:x", compress=True))
        ring.seal(name, "attachment.display_name")
    return stored


def main() -> None:
    ring = keyring()
    messages = corpus()
    times: dict[str, list[float]] = {"all": [], "with attachment": [], "text only": []}
    size_in = size_out = 0
    for _kind, raw in messages:
        files = attachments(raw)  # the intake's parse: not counted
        start = time.perf_counter()
        stored = seal_message(ring, raw, files)
        elapsed = (time.perf_counter() - start) * 1000
        times["all"].append(elapsed)
        times["with attachment" if files else "text only"].append(elapsed)
        size_in, size_out = size_in + len(raw) + sum(len(p) for p, _ in files), size_out + stored
    rows = []
    for name, values in times.items():
        mean = statistics.fmean(values)
        rows.append([name, str(len(values)), f"{mean:.3f}", f"{percentile(values, 50):.3f}",
                     f"{percentile(values, 99):.3f}", f"{mean / BUDGET_MS:.0%}"])
    print_table(["messages", "n", "mean ms", "p50 ms", "p99 ms", "share of 3.33 ms"], rows,
                title="Sealing what the intake stores, per message (raw, sender, keyed hash, files)")
    text = sum(1 for _k, raw in messages if compressed(raw) is not None)
    print(f"\nraw bytes compressed before sealing: {text} of {len(messages)} messages "
          f"(the rest end in base64 or binary); {size_out / size_in:.0%} of the bytes (raw + files) stored")


if __name__ == "__main__":
    main()
