#!/usr/bin/env python3
"""Checks a directory that `chitra publish DIR` wrote (docs/proofs.md section 8), from the
published files alone: the checkpoint's signature, that the level-0 tiles (the leaf hashes)
give its root, that every higher tile agrees with them, and, given a record, that it is the
leaf at its index, with an inclusion proof built from the tiles (RFC 6962 PATH).

    verify_tiles.py DIR --key VERIFIER_KEY [--index I --record FILE]

Prints `OK: ...` (exit 0) or `REFUSED: <reason>` (exit 1). Shares no code with chitra; it uses
the checkpoint and tree functions of verify_receipt.py, written from the same spec.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verify_receipt import (  # noqa: E402
    Refused, leaf_hash, node_hash, open_note, parse_checkpoint, parse_verifier_key,
    root_from_inclusion,
)

TILE_WIDTH = 256


def tile_path(level, index, width):
    groups = []
    n = index
    while True:
        groups.append(n % 1000)
        n //= 1000
        if n == 0:
            break
    parts = ["x%03d" % g for g in reversed(groups[1:])] + ["%03d" % groups[0]]
    path = os.path.join("tile", str(level), *parts)
    return path + (".p/%d" % width if width < TILE_WIDTH else "")


def read_tile(root_dir, level, index, width):
    path = os.path.join(root_dir, tile_path(level, index, width))
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        raise Refused("the tile %s is missing" % tile_path(level, index, width))
    if len(data) != 32 * width:
        raise Refused("the tile %s is not %d hashes" % (tile_path(level, index, width), width))
    return [data[i * 32 : i * 32 + 32] for i in range(width)]


def mth(hashes):
    """RFC 6962 MTH over leaf hashes."""
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return node_hash(mth(hashes[:k]), mth(hashes[k:]))


def path(m, hashes):
    """RFC 6962 PATH(m, D[n]) over leaf hashes."""
    if len(hashes) == 1:
        return []
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    if m < k:
        return path(m, hashes[:k]) + [mth(hashes[k:])]
    return path(m - k, hashes[k:]) + [mth(hashes[:k])]


def level_entries(n, level):
    return n >> (8 * level)


def read_level(root_dir, n, level):
    entries = level_entries(n, level)
    out = []
    for index in range((entries + TILE_WIDTH - 1) // TILE_WIDTH):
        width = min(TILE_WIDTH, entries - index * TILE_WIDTH)
        out.extend(read_tile(root_dir, level, index, width))
    return out


def verify(root_dir, key_text, index=None, record=None):
    key = parse_verifier_key(key_text)
    try:
        with open(os.path.join(root_dir, "checkpoint"), encoding="utf-8") as f:
            note = f.read()
    except OSError:
        raise Refused("no checkpoint in %s" % root_dir)
    origin, n, root = parse_checkpoint(open_note(note, key))
    if n == 0:
        raise Refused("the published tree is empty")
    leaves = read_level(root_dir, n, 0)
    if mth(leaves) != root:
        raise Refused("the level-0 tiles do not give the checkpoint's root")
    level = 1
    while level_entries(n, level) > 0:
        span = TILE_WIDTH ** level
        for j, h in enumerate(read_level(root_dir, n, level)):
            if mth(leaves[j * span : (j + 1) * span]) != h:
                raise Refused("entry %d of tile level %d does not match the leaves" % (j, level))
        level += 1
    if index is not None:
        if index >= n:
            raise Refused("there is no leaf %d in a tree of %d" % (index, n))
        leaf = leaf_hash(record)
        if leaves[index] != leaf:
            raise Refused("the record is not leaf %d of the published tree" % index)
        if root_from_inclusion(index, n, leaf, path(index, leaves)) != root:
            raise Refused("the inclusion proof of leaf %d does not lead to the root" % index)
    return origin, n


def main(argv):
    ap = argparse.ArgumentParser(description="Check a published chitra tree.")
    ap.add_argument("dir")
    ap.add_argument("--key", required=True)
    ap.add_argument("--index", type=int)
    ap.add_argument("--record")
    args = ap.parse_args(argv)
    record = None
    if args.record is not None:
        with open(args.record, "rb") as f:
            record = f.read()
    try:
        origin, n = verify(args.dir, args.key, args.index, record)
    except Refused as e:
        print("REFUSED: %s" % e)
        return 1
    what = "" if args.index is None else "record %d is in " % args.index
    print("OK: %sthe published tree of %d records signed by %s; tiles and checkpoint agree"
          % (what, n, origin))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
