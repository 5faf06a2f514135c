#!/usr/bin/env python3
"""Standalone verifier of chitra payment receipts (docs/proofs.md section 6).

Written from docs/proofs.md and docs/chain-format.md alone; it shares no code with chitra.
Needs Python 3.8+ and the `cryptography` package (Ed25519).

    verify_receipt.py RECEIPT.json [--key VERIFIER_KEY] [--witness WITNESS_KEY]...

RECEIPT.json is what `chitra receipt PAYMENT --out FILE` or `GET /v1/payments/{id}/receipt`
wrote. --key is the ledger's note verifier key you trust (published by the department); without
it the key the receipt names is used, which proves only that the receipt is consistent. Each
--witness is a witness's public key (NAME+KEYID+base64(0x04 || key)) whose cosignature the
checkpoint must carry (section 7).

Prints `OK: ...` and exits 0 when every check of section 6.2 holds, or `REFUSED: <reason>`
and exits 1 at the first that does not.
"""

import argparse
import base64
import hashlib
import json
import struct
import sys

RECEIPT_FORMAT = "chitra-receipt/v1"
EVENT_BATCH_OPENED = 12
EVENT_PAYMENT_SCHEDULED = 13
PROGRAMMES = ["NCC", "BTXH", "HTXH"]
ITEM_KINDS = ["regular", "arrears", "recovery", "one_off"]
ED25519 = 0x01
COSIGNATURE_V1 = 0x04


class Refused(Exception):
    pass


# --- Note keys and signed notes (C2SP signed-note, docs/proofs.md section 4) ---------------


def parse_verifier_key(text, kind=ED25519, what="verifier key"):
    parts = text.strip().split("+", 2)
    if len(parts) != 3:
        raise Refused("the %s is not NAME+KEYID+BASE64" % what)
    name, key_id, blob = parts
    try:
        blob = base64.b64decode(blob, validate=True)
        key_id = bytes.fromhex(key_id)
    except ValueError:
        raise Refused("the %s is malformed" % what)
    if len(key_id) != 4 or len(blob) != 33 or blob[0] != kind:
        raise Refused("the %s is not an Ed25519 key of type 0x%02x" % (what, kind))
    public = blob[1:]
    want = hashlib.sha256(name.encode() + b"\n" + bytes([kind]) + public).digest()[:4]
    if want != key_id:
        raise Refused("the %s's ID does not match its key" % what)
    return name, key_id, public


def check_cosignature(note, text, witness):
    """C2SP tlog-cosignature/v1: the witness's Ed25519 signature over `cosignature/v1`,
    `time <t>` and the checkpoint's note text; its timestamp."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    name, key_id, public = witness
    split = note[:-1].rfind("\n\n")
    for line in note[split + 2 : -1].split("\n"):
        who, _, sig = line[2:].partition(" ")
        try:
            sig = base64.b64decode(sig, validate=True)
        except ValueError:
            continue
        if who != name or sig[:4] != key_id:
            continue
        if len(sig) != 4 + 8 + 64:
            raise Refused("the cosignature by %s is malformed" % name)
        timestamp = int.from_bytes(sig[4:12], "big")
        message = ("cosignature/v1\ntime %d\n" % timestamp + text).encode()
        try:
            Ed25519PublicKey.from_public_bytes(public).verify(sig[12:], message)
        except (InvalidSignature, ValueError):
            raise Refused(
                "the cosignature by %s does not verify: the checkpoint or the cosignature was "
                "altered" % name
            )
        return timestamp
    raise Refused("the checkpoint carries no cosignature by %s" % name)


def open_note(note, key):
    """The note's text once a signature by `key` verifies on it."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    name, key_id, public = key
    if not note.endswith("\n"):
        raise Refused("the checkpoint is not a signed note (no final newline)")
    split = note[:-1].rfind("\n\n")
    if split < 0:
        raise Refused("the checkpoint is not a signed note (no signatures)")
    text = note[: split + 1]
    found = False
    for line in note[split + 2 : -1].split("\n"):
        if not line.startswith("\u2014 "):
            raise Refused("the checkpoint has a malformed signature line")
        who, _, sig = line[2:].partition(" ")
        try:
            sig = base64.b64decode(sig, validate=True)
        except ValueError:
            raise Refused("a signature of the checkpoint is not base64")
        if who != name or sig[:4] != key_id:
            continue
        found = True
        try:
            Ed25519PublicKey.from_public_bytes(public).verify(sig[4:], text.encode())
        except (InvalidSignature, ValueError):
            raise Refused(
                "the checkpoint's signature by %s does not verify: the checkpoint was altered "
                "or not signed by this key" % name
            )
    if not found:
        raise Refused("the checkpoint carries no signature by %s" % name)
    return text


def parse_checkpoint(text):
    lines = text.split("\n")
    if len(lines) < 4:
        raise Refused("the checkpoint body is not origin, size and root")
    origin, size, root = lines[0], lines[1], lines[2]
    if not size.isdigit() or (size != "0" and size.startswith("0")):
        raise Refused("the checkpoint's size is not a decimal number")
    try:
        root = base64.b64decode(root, validate=True)
    except ValueError:
        raise Refused("the checkpoint's root is not base64")
    if len(root) != 32:
        raise Refused("the checkpoint's root is not 32 bytes")
    return origin, int(size), root


# --- The Merkle tree (RFC 6962 / RFC 9162, docs/proofs.md sections 1 and 3) -----------------


def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion(index, size, leaf, proof):
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while True:
                    fn >>= 1
                    sn >>= 1
                    if fn & 1 or fn == 0:
                        break
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


# --- Records and payloads (docs/chain-format.md sections 1 and 4) ---------------------------


def record_payload(rec):
    """(seq, payload_version, payload) of a record's stored bytes."""
    if len(rec) < 58 or rec[0] != 1:
        raise Refused("the record is malformed")
    flags = rec[1]
    if flags & ~3:
        raise Refused("the record is malformed (unknown flags)")
    version, seq = struct.unpack_from("<HQ", rec, 2)
    at = 52
    principal_len = rec[at]
    at += 1 + principal_len
    if flags & 1:
        key_len = rec[at]
        at += 1 + key_len + 32
    if flags & 2:
        at += 32
    if at + 4 > len(rec):
        raise Refused("the record is malformed (cut short)")
    (payload_len,) = struct.unpack_from("<I", rec, at)
    at += 4
    if at + payload_len != len(rec):
        raise Refused("the record is malformed (its length)")
    return seq, version, rec[at:]


class Payload:
    """bincode 2, standard configuration (variable-length integers)."""

    def __init__(self, data):
        self.data, self.at = data, 0

    def byte(self):
        if self.at >= len(self.data):
            raise Refused("the record's payload is cut short")
        b = self.data[self.at]
        self.at += 1
        return b

    def uint(self):
        b = self.byte()
        width = {251: 2, 252: 4, 253: 8}.get(b)
        if b < 251:
            return b
        if width is None:
            raise Refused("the record's payload has a malformed integer")
        if self.at + width > len(self.data):
            raise Refused("the record's payload is cut short")
        v = int.from_bytes(self.data[self.at : self.at + width], "little")
        self.at += width
        return v

    def sint(self):
        z = self.uint()
        return z >> 1 if z & 1 == 0 else -((z + 1) >> 1)

    def string(self):
        n = self.uint()
        if self.at + n > len(self.data):
            raise Refused("the record's payload is cut short")
        s = self.data[self.at : self.at + n].decode("utf-8")
        self.at += n
        return s

    def end(self):
        if self.at != len(self.data):
            raise Refused("the record's payload has trailing bytes")


def month_text(m):
    return "%04d-%02d" % (m // 12, m % 12 + 1)


def decode_payment(payload):
    p = Payload(payload)
    if p.uint() != EVENT_PAYMENT_SCHEDULED:
        raise Refused("the payment record is not a payment_scheduled event")
    out = {"payment_id": p.uint(), "batch_id": p.uint(), "beneficiary_id": p.uint()}
    route = p.uint()
    if route == 0:
        out["route"] = "bank %06d" % p.uint()
    elif route == 1:
        out["route"] = "cash %05d" % p.uint()
    else:
        raise Refused("the payment record has an unknown route")
    out["amount_vnd"] = p.sint()
    items = []
    for _ in range(p.uint()):
        p.uint()  # entitlement
        month = p.uint()
        kind = p.uint()
        if kind >= len(ITEM_KINDS):
            raise Refused("the payment record has an unknown item kind")
        amount = p.sint()
        p.string()  # the rule behind the amount
        items.append({"month": month_text(month), "kind": ITEM_KINDS[kind], "amount_vnd": amount})
    out["items"] = items
    p.end()
    return out


def decode_batch(payload):
    p = Payload(payload)
    if p.uint() != EVENT_BATCH_OPENED:
        raise Refused("the batch record is not a batch_opened event")
    batch = p.uint()
    programme = p.uint()
    if programme >= len(PROGRAMMES):
        raise Refused("the batch record has an unknown programme")
    month = p.uint()
    p.string()  # funding account
    if p.uint() == 1:
        p.uint()  # supplementary of
    p.end()
    return {"batch_id": batch, "programme": PROGRAMMES[programme], "month": month_text(month)}


# --- The receipt (docs/proofs.md section 6) --------------------------------------------------


def proved_record(receipt, field, size, root, what):
    r = receipt.get(field)
    if not isinstance(r, dict):
        raise Refused("the receipt has no %s" % field)
    try:
        rec = base64.b64decode(r["record"], validate=True)
        proof = [base64.b64decode(h, validate=True) for h in r["proof"]]
        seq = int(r["seq"])
    except (KeyError, ValueError, TypeError):
        raise Refused("the %s is malformed" % field)
    if any(len(h) != 32 for h in proof):
        raise Refused("a hash of the %s's inclusion proof is not 32 bytes" % what)
    if root_from_inclusion(seq, size, leaf_hash(rec), proof) != root:
        raise Refused(
            "the inclusion proof of the %s (record %d) does not lead to the checkpoint's root: "
            "the record or its proof was altered" % (what, seq)
        )
    record_seq, version, payload = record_payload(rec)
    if record_seq != seq:
        raise Refused("the %s is record %d, not %d" % (what, record_seq, seq))
    if version != 1:
        raise Refused("the %s has payload version %d, which this verifier does not read" % (what, version))
    return payload


def verify(receipt, key_text, witness_texts=()):
    if not isinstance(receipt, dict) or receipt.get("receipt") != RECEIPT_FORMAT:
        raise Refused("not a %s receipt" % RECEIPT_FORMAT)
    key = parse_verifier_key(key_text)
    note = str(receipt.get("checkpoint", ""))
    text = open_note(note, key)
    for w in witness_texts:
        check_cosignature(note, text, parse_verifier_key(w, COSIGNATURE_V1, "witness key"))
    origin, size, root = parse_checkpoint(text)
    if origin != key[0]:
        raise Refused("the checkpoint's origin %r is not the key's name %r" % (origin, key[0]))
    pay = decode_payment(proved_record(receipt, "payment_record", size, root, "payment record"))
    batch = decode_batch(proved_record(receipt, "batch_record", size, root, "batch record"))
    if pay["batch_id"] != batch["batch_id"]:
        raise Refused("the batch record is of another batch than the payment's")
    proven = dict(pay, programme=batch["programme"], month=batch["month"])
    facts = receipt.get("facts")
    if not isinstance(facts, dict):
        raise Refused("the receipt has no facts")
    for field in ["payment_id", "batch_id", "beneficiary_id", "programme", "month",
                  "amount_vnd", "route", "items"]:
        if facts.get(field) != proven[field]:
            raise Refused(
                "the receipt says %s %s but the record says %s"
                % (field, json.dumps(facts.get(field)), json.dumps(proven[field]))
            )
    if facts.get("payment") != "P%d" % proven["payment_id"]:
        raise Refused("the receipt's payment %r is not P%d" % (facts.get("payment"), proven["payment_id"]))
    return proven, size, origin


def main(argv):
    ap = argparse.ArgumentParser(description="Verify a chitra payment receipt offline.")
    ap.add_argument("receipt")
    ap.add_argument("--key", help="the ledger's note verifier key you trust")
    ap.add_argument("--witness", action="append", default=[],
                    help="a witness's key whose cosignature the checkpoint must carry")
    args = ap.parse_args(argv)
    try:
        with open(args.receipt, encoding="utf-8") as f:
            receipt = json.load(f)
    except (OSError, ValueError) as e:
        print("REFUSED: the receipt cannot be read: %s" % e)
        return 1
    key = args.key
    if key is None:
        key = str(receipt.get("ledger_key", "")) if isinstance(receipt, dict) else ""
        print("note: checking against the key the receipt names; give --key with the "
              "department's published key", file=sys.stderr)
    try:
        proven, size, origin = verify(receipt, key, args.witness)
    except Refused as e:
        print("REFUSED: %s" % e)
        return 1
    witnesses = [w.split("+", 1)[0] for w in args.witness]
    print(
        "OK: payment P%d of %d VND (%s %s, %s) to beneficiary %d is in the chain of %d records "
        "signed by %s%s"
        % (proven["payment_id"], proven["amount_vnd"], proven["programme"], proven["month"],
           proven["route"], proven["beneficiary_id"], size, origin,
           "".join(" and cosigned by %s" % w for w in witnesses))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
