#!/usr/bin/env python3
"""Independent verifier for a chitra chain export, written from docs/chain-format.md alone.

Usage:
    python3 tools/verify_export.py CHAIN_EXPORT [--personal PERSONAL_EXPORT]
                                   [--expect-head [SEQ:]HEX] [--json] [--hashes]

Prints `OK: N records, head <seq> <hash>` and exits 0, or `TAMPERED: seq S: <kind>` and exits 1.
Exits 2 on usage or I/O errors, or when a file is not a chitra export at all (bad magic).

Section numbers ("§") refer to docs/chain-format.md. Where the spec is silent, the choice made
here was marked "GUESS:"; the spec now settles each of them.
"""

import argparse
import json
import struct
import sys

try:
    import blake3
except ImportError:  # the one non-stdlib dependency
    print("error: the Python package 'blake3' is required (pip install blake3)", file=sys.stderr)
    sys.exit(2)

# Preamble: "blake3-derive(C, bytes)" is blake3 in key-derivation mode, 32-byte output.
RECORD_CONTEXT = "chitra 2026-11-22 chain record v1"  # §2
COMMITMENT_CONTEXT = "chitra 2026-11-22 personal data commitment v1"  # §5

CHAIN_MAGIC = b"CHITRAX1"  # §3.2
PERSONAL_MAGIC = b"CHITRAP1"  # §3.3
TRAILER_MARK = 0xFFFFFFFF  # §3.2
MAX_FRAME = 1_052_672  # §3.2, frame length 1..=1,052,672
MAX_PAYLOAD = 1_048_576  # §1, payload_len
ZERO_HASH = bytes(32)  # §1 genesis rule, §3.2 empty-chain trailer

# Fault kinds, worded as §6 names them (the same words `chitra verify` prints).
MALFORMED = "malformed record"
MALFORMED_FRAMING = "malformed framing"
TIME_REVERSED = "time runs backwards"
DIFFERS = "differs from the trusted head"
MISSING = "missing"
DUPLICATE = "duplicate"
OUT_OF_ORDER = "out of order"
INSERTED = "inserted"
ALTERED = "content altered"
LINK_BROKEN = "link broken"
TRUNCATED = "truncated"
BEYOND_ANCHOR = "beyond the anchor"
PERSONAL_MISMATCH = "personal data mismatch"
PERSONAL_UNCOMMITTED = "personal data without commitment"
PERSONAL_MALFORMED = "personal data malformed"
PERSONAL_DUPLICATE = "personal data duplicate"


def derive(context, data):
    return blake3.blake3(data, derive_key_context=context).digest()


class Tampered(Exception):
    def __init__(self, seq, kind, detail=""):
        super().__init__(f"seq {seq}: {kind}")
        self.seq, self.kind, self.detail = seq, kind, detail


class NotAnExport(Exception):
    """The input is not a chitra export at all (exit 2, not 1)."""


class Record:
    """A parsed record (§1) and its hash (§2)."""

    def __init__(self, raw):
        self.raw = raw
        self.hash = derive(RECORD_CONTEXT, raw)  # §2: hash exactly the stored bytes
        self.commitment = None
        self._parse()

    def _parse(self):
        raw = self.raw
        if len(raw) < 53:
            raise ValueError(f"{len(raw)} bytes, shorter than the 53-byte fixed part")
        # §1 fixed part: format, flags, payload_version, seq, prev_hash, recorded_at, principal_len.
        fmt, flags, self.payload_version, self.seq = struct.unpack_from("<BBHQ", raw, 0)
        self.prev_hash = raw[12:44]
        (self.recorded_at,) = struct.unpack_from("<q", raw, 44)
        if fmt != 0x01:
            raise ValueError(f"format byte {fmt:#04x}, expected 0x01")
        if flags & ~0b11:
            raise ValueError(f"flags {flags:#04x}: bits other than 0 and 1 set")
        # Any payload_version is accepted: verifying needs no payload decoding (§4).
        pos = 52

        def take(n, what):
            nonlocal pos
            if pos + n > len(raw):
                raise ValueError(f"record ends inside {what}")
            chunk = raw[pos : pos + n]
            pos += n
            return chunk

        principal_len = take(1, "principal_len")[0]
        if not 1 <= principal_len <= 64:
            raise ValueError(f"principal_len {principal_len} not in 1..=64")
        self.principal = take(principal_len, "principal").decode("utf-8")  # raises if not UTF-8
        if flags & 0b01:  # idempotency key and request digest follow
            key_len = take(1, "key_len")[0]
            if not 1 <= key_len <= 128:
                raise ValueError(f"key_len {key_len} not in 1..=128")
            key = take(key_len, "idempotency_key")
            # §1: visible ASCII, 0x21..0x7E.
            if any(not 0x21 <= b <= 0x7E for b in key):
                raise ValueError("idempotency key is not visible ASCII")
            take(32, "request_digest")  # opaque to verifiers (§1)
        if flags & 0b10:  # personal-data commitment follows
            self.commitment = take(32, "personal_commitment")
        (payload_len,) = struct.unpack("<I", take(4, "payload_len"))
        if payload_len > MAX_PAYLOAD:
            raise ValueError(f"payload_len {payload_len} > {MAX_PAYLOAD}")
        take(payload_len, "payload")
        if pos != len(raw):  # §1: "trailing bytes make it malformed"
            raise ValueError(f"{len(raw) - pos} trailing bytes after the payload")


def read_exact(f, n):
    data = f.read(n)
    return data if len(data) == n else None


def read_export(f):
    """Walk the §3.2 framing. Yields ("record", bytes) per frame, then exactly one of
    ("trailer", count, head_hash) or ("fault", kind, detail) for a framing fault at the
    position of the next record. §6 "How an export file can end" lists every case."""
    if f.read(8) != CHAIN_MAGIC:
        # §6: a file that does not begin with the whole magic (including one cut inside it)
        # is not an export at all.
        raise NotAnExport("not a chitra chain export (magic is not CHITRAX1)")
    while True:
        head = read_exact(f, 4)
        if head is None:
            # §6: a file that ends without its trailer (at a frame boundary, or inside a frame
            # length or the trailer mark, which are the same four bytes) is truncated where the
            # next record should have started.
            yield ("fault", TRUNCATED, "file ends before the trailer")
            return
        (length,) = struct.unpack("<I", head)
        if length == TRAILER_MARK:
            trailer = read_exact(f, 40)
            if trailer is None:
                yield ("fault", TRUNCATED, "file ends inside the trailer")
                return
            (count,) = struct.unpack_from("<Q", trailer, 0)
            if f.read(1):  # §3.2: "Nothing may follow the trailer."
                yield ("fault", MALFORMED_FRAMING, f"bytes follow the trailer (count {count})")
                return
            yield ("trailer", count, trailer[8:])
            return
        if not 1 <= length <= MAX_FRAME:
            yield ("fault", MALFORMED_FRAMING, f"frame length {length} not in 1..={MAX_FRAME}")
            return
        raw = read_exact(f, length)
        if raw is None:
            yield ("fault", TRUNCATED, "file ends inside a record frame")
            return
        yield ("record", raw)


def try_parse(raw):
    try:
        return Record(raw), None
    except (ValueError, UnicodeDecodeError) as e:
        return None, str(e)


def verify_chain(f, hashes_out):
    """§6 steps 1-3 over every record, then step 4 against the trailer. Returns
    (count, last Record or None, {seq: commitment}). Raises Tampered on the first fault."""
    items = read_export(f)
    commitments = {}
    prev = None  # record i - 1
    cur_item = next(items)
    cur, cur_err = try_parse(cur_item[1]) if cur_item[0] == "record" else (None, None)
    i = 0
    while cur_item[0] == "record":
        # One record of look-ahead: §6 steps 2 and 3 consult "the next record".
        nxt_item = next(items)
        nxt, nxt_err = try_parse(nxt_item[1]) if nxt_item[0] == "record" else (None, None)
        # §6 Framing: malformed framing after this record is an unreadable successor (it exists
        # but vouches for nothing); a file cut short leaves it no successor at all.
        has_successor = nxt_item[0] == "record" or (
            nxt_item[0] == "fault" and nxt_item[1] == MALFORMED_FRAMING
        )

        # Step 1: parse by §1.
        if cur is None:
            raise Tampered(i, MALFORMED, cur_err)
        if hashes_out is not None:
            hashes_out.append(cur.hash)

        # Step 2: its seq must be i.
        if cur.seq != i:
            if cur.seq == i - 1:  # §6 step 2: reported at the seq that appears twice
                raise Tampered(i - 1, DUPLICATE, f"position {i} holds seq {cur.seq} again")
            if cur.seq > i:
                # §6: an unreadable next record vouches for nothing and has no seq.
                if nxt is not None and nxt.seq == i:
                    raise Tampered(i, OUT_OF_ORDER, f"seq field is {cur.seq}, next is {i}")
                raise Tampered(i, MISSING, f"seq field is {cur.seq}")
            raise Tampered(i, OUT_OF_ORDER, f"seq field is {cur.seq}")

        # Step 3: prev_hash must be record i - 1's hash (zero for record 0: genesis).
        expected = prev.hash if prev is not None else ZERO_HASH
        if cur.prev_hash != expected:
            if prev is None:
                # §6 step 3: record 0 must link to 32 zero bytes (the genesis rule).
                raise Tampered(0, LINK_BROKEN, "record 0's prev_hash is not 32 zero bytes")
            if cur.prev_hash == prev.prev_hash:
                raise Tampered(i - 1, INSERTED, f"records {i - 1} and {i} share a prev_hash")
            if not has_successor:
                # "for the last record, which has no successor, report record i - 1 as altered"
                raise Tampered(i - 1, ALTERED, f"last record {i} does not link to it")
            if nxt is not None and nxt.prev_hash == cur.hash:
                raise Tampered(i - 1, ALTERED, f"record {i} (vouched for by {i + 1}) does not link to it")
            raise Tampered(i, LINK_BROKEN, "prev_hash matches no neighbour")

        # §6 step 3, last check: recorded_at never decreases along the chain (§1).
        if prev is not None and cur.recorded_at < prev.recorded_at:
            raise Tampered(i, TIME_REVERSED, f"recorded_at {cur.recorded_at} < previous {prev.recorded_at}")

        if cur.commitment is not None:
            commitments[cur.seq] = cur.commitment
        prev, cur_item, cur, cur_err = cur, nxt_item, nxt, nxt_err
        i += 1

    if cur_item[0] == "fault":  # framing fault where record i should start
        raise Tampered(i, cur_item[1], cur_item[2])

    # Step 4 against the export's trailer (§3.2).
    _, count, head_hash = cur_item
    check_anchor(i, prev, count, head_hash, "trailer")
    return i, prev, commitments


def check_anchor(n, last, anchor_count, anchor_hash, name):
    """§6 step 4: n records were read, `last` is the last one (None for an empty chain)."""
    if n < anchor_count:
        raise Tampered(n, TRUNCATED, f"{name} says {anchor_count} records, export has {n}")
    if n > anchor_count:  # §6 step 4: reported at the first seq past the anchor
        raise Tampered(anchor_count, BEYOND_ANCHOR, f"{name} says {anchor_count} records, export has {n}")
    last_hash = last.hash if last is not None else ZERO_HASH
    if last_hash != anchor_hash:
        # §6 step 4: an empty chain's trailer must hold a zero hash.
        if last is None:
            raise Tampered(0, MALFORMED_FRAMING, f"{name}: empty chain but non-zero head hash")
        raise Tampered(n - 1, ALTERED, f"last record's hash differs from the {name}'s")


def check_expected_head(n, last, hashes, expect):
    """A head kept elsewhere (§6 step 5): the record at SEQ must still have that hash; records
    after it are fine, the chain grew since. A bare hash must be some record's hash."""
    seq, want = expect
    if seq is not None:
        if n <= seq:
            raise Tampered(n, TRUNCATED, f"the trusted head is at seq {seq}")
        if hashes[seq] != want:
            raise Tampered(seq, DIFFERS, "the history up to it was rewritten")
        return
    if want not in hashes:
        raise Tampered(max(n - 1, 0), DIFFERS, "the trusted head hash is not in the chain")


def verify_personal(f, n, commitments):
    """§3.3 framing and §5.1: every entry must match its record's commitment. Returns the
    number of entries."""
    if f.read(8) != PERSONAL_MAGIC:
        raise NotAnExport("not a chitra personal-data export (magic is not CHITRAP1)")
    seen = set()
    last_seq = -1
    while True:
        head = f.read(8)
        if not head:
            return len(seen)
        if len(head) < 8:
            # §5.1: reported after the last complete entry.
            raise Tampered(last_seq + 1, PERSONAL_MALFORMED, "file ends inside an entry's seq")
        (seq,) = struct.unpack("<Q", head)
        rest = read_exact(f, 20)
        if rest is None:
            raise Tampered(seq, PERSONAL_MALFORMED, "file ends inside an entry header")
        salt, (length,) = rest[:16], struct.unpack("<I", rest[16:])
        if length > MAX_PAYLOAD:  # §6: an entry longer than any payload is malformed
            raise Tampered(seq, PERSONAL_MALFORMED, f"entry length {length} > {MAX_PAYLOAD}")
        data = read_exact(f, length)
        if data is None:
            raise Tampered(seq, PERSONAL_MALFORMED, "file ends inside an entry's bytes")
        if seq in seen:  # §5.1: at most one entry per record
            raise Tampered(seq, PERSONAL_DUPLICATE, "second entry for the same record")
        seen.add(seq)
        last_seq = seq
        if seq not in commitments:  # §5.1: an entry for a record without a commitment
            what = "has no commitment" if seq < n else "is not in the chain"
            raise Tampered(seq, PERSONAL_UNCOMMITTED, f"record {seq} {what}")
        # §5: commitment = blake3-derive(context, salt ‖ personal bytes)
        if derive(COMMITMENT_CONTEXT, salt + data) != commitments[seq]:
            raise Tampered(seq, PERSONAL_MISMATCH, "salt and bytes do not match the commitment")


def parse_expect_head(text):
    """Accept HEX (32-byte hash) or SEQ:HEX, as written down by an auditor."""
    seq = None
    if ":" in text:
        seq_text, text = text.split(":", 1)
        seq = int(seq_text)
    want = bytes.fromhex(text)
    if len(want) != 32:
        raise ValueError("a head hash is 32 bytes (64 hex digits)")
    return seq, want


def main(argv):
    ap = argparse.ArgumentParser(description="Verify a chitra chain export (docs/chain-format.md).")
    ap.add_argument("chain", metavar="CHAIN_EXPORT")
    ap.add_argument("--personal", metavar="PERSONAL_EXPORT", help="also check personal data (§5)")
    ap.add_argument("--expect-head", metavar="[SEQ:]HEX", help="an anchor kept elsewhere (§6 step 4)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--hashes", action="store_true", help="also print every record hash (as hashes.txt)")
    args = ap.parse_args(argv)  # exits 2 on usage errors

    result, code = {}, 0
    try:
        expect = parse_expect_head(args.expect_head) if args.expect_head else None
        # Keep every hash only when it is needed (a chain may hold millions of records).
        hashes = [] if args.hashes or expect is not None else None
        with open(args.chain, "rb") as f:
            n, last, commitments = verify_chain(f, hashes)
        if expect is not None:
            check_expected_head(n, last, hashes, expect)
        personal = None
        if args.personal:
            with open(args.personal, "rb") as f:
                personal = verify_personal(f, n, commitments)
        head_seq = last.seq if last is not None else None
        head_hex = (last.hash if last is not None else ZERO_HASH).hex()
        result = {"result": "ok", "records": n, "head": {"seq": head_seq, "hash": head_hex},
                  "personal_entries": personal}
        text = f"OK: {n} records, head {head_seq if head_seq is not None else '-'} {head_hex}"
        if personal is not None:
            text += f"\npersonal data: {personal} entries match their commitments"
    except Tampered as t:
        code = 1
        result = {"result": "tampered", "seq": t.seq, "kind": t.kind, "detail": t.detail}
        text = f"TAMPERED: seq {t.seq}: {t.kind}" + (f" ({t.detail})" if t.detail else "")
    except (OSError, ValueError, NotAnExport) as e:
        code, hashes = 2, None
        result = {"result": "error", "error": str(e)}
        text = f"error: {e}"

    if args.json:
        if hashes is not None and args.hashes:
            result["hashes"] = [h.hex() for h in hashes]
        print(json.dumps(result))
    else:
        if hashes is not None and args.hashes:
            for pos, h in enumerate(hashes):
                print(f"{pos} {h.hex()}")
        print(text, file=sys.stderr if code == 2 else sys.stdout)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
