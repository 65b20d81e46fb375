#!/usr/bin/env python3
"""Gather the world interop corpus: every JPEG, PNG and ISO BMFF file
(mp4, mov, m4a, heic, heif, avif) at HEAD of the public repositories given,
deduplicated by SHA-256, into CORPUS_DIR, and write the manifest
(sha256, bytes, name, repository, commit, path, licence) that is committed
beside this script as corpus.tsv.

usage: gather.py CORPUS_DIR MANIFEST.tsv GITDIR[=owner/name] ...

A GITDIR is a bare or normal git directory (the search tool's fetch gives
/work/.mirror/OWNER+NAME/repo).  Files are written as
CORPUS_DIR/<first 12 hex of sha256>-<basename>, so a name says where a line
of the manifest points.  Nothing is downloaded here: the files come from
the git objects.  With --check, files already in CORPUS_DIR are checked
against the manifest instead (exit 1 on a missing or changed file)."""
import hashlib, os, re, subprocess, sys

EXTS = {'.jpg', '.jpeg', '.png', '.mp4', '.mov', '.m4a', '.heic', '.heif', '.avif'}
LICENCE_NAMES = re.compile(r'^(licen[cs]e|copying)', re.I)


def git(gitdir, *args, binary=False):
    r = subprocess.run(['git', '--git-dir', gitdir, *args], capture_output=True, check=True)
    return r.stdout if binary else r.stdout.decode('utf-8', 'replace')


def licence_of(gitdir):
    names = [n for n in git(gitdir, 'ls-tree', '--name-only', 'HEAD').split('\n') if LICENCE_NAMES.match(n)]
    kinds = []
    for n in names:
        text = git(gitdir, 'show', f'HEAD:{n}')[:4000]
        if 'Apache License' in text: kinds.append('Apache-2.0')
        elif 'MIT License' in text or 'Permission is hereby granted, free of charge' in text: kinds.append('MIT')
        elif 'Attribution 4.0' in text: kinds.append('CC-BY-4.0')
        elif 'Creative Commons' in text: kinds.append('CC (see LICENSE)')
        elif 'BSD' in text: kinds.append('BSD')
        else: kinds.append(f'see {n}')
    return ' OR '.join(sorted(set(kinds))) or 'none stated'


def gather(corpus, manifest, specs):
    os.makedirs(corpus, exist_ok=True)
    seen = {}
    rows = []
    for spec in specs:
        gitdir, _, name = spec.partition('=')
        if not name:
            m = re.search(r'([^/]+)\+([^/]+)/repo/?$', gitdir)
            name = f'{m.group(1)}/{m.group(2)}' if m else gitdir
        commit = git(gitdir, 'rev-parse', 'HEAD').strip()
        lic = licence_of(gitdir)
        for line in git(gitdir, 'ls-tree', '-r', '-l', 'HEAD').split('\n'):
            if not line: continue
            meta, path = line.split('\t', 1)
            mode, kind, obj, size = meta.split()
            if kind != 'blob' or size == '-' or os.path.splitext(path)[1].lower() not in EXTS:
                continue
            try:
                data = git(gitdir, 'cat-file', 'blob', obj, binary=True)
            except subprocess.CalledProcessError:
                continue  # the snapshot lacks it (files of 4 MiB and more)
            if len(data) < 16 or data.startswith(b'version https://git-lfs'):
                continue  # LFS pointers and stubs are not media
            h = hashlib.sha256(data).hexdigest()
            if h in seen:
                continue
            base = re.sub(r'[^A-Za-z0-9._-]', '_', os.path.basename(path))
            fname = f'{h[:12]}-{base}'
            seen[h] = fname
            with open(os.path.join(corpus, fname), 'wb') as f:
                f.write(data)
            rows.append((h, len(data), fname, name, commit, path, lic))
    rows.sort(key=lambda r: (r[3], r[5]))
    tmp = manifest + '.tmp'
    with open(tmp, 'w') as f:
        f.write('# sha256\tbytes\tfile\trepository\tcommit\tpath\tlicence\n')
        for r in rows:
            f.write('\t'.join(str(x) for x in r) + '\n')
    os.replace(tmp, manifest)
    print(f'{len(rows)} files in {corpus}, manifest {manifest}')


def check(corpus, manifest):
    bad = 0
    for line in open(manifest):
        if line.startswith('#') or not line.strip(): continue
        h, size, fname = line.split('\t')[:3]
        p = os.path.join(corpus, fname)
        try:
            data = open(p, 'rb').read()
        except OSError:
            print(f'missing: {fname}'); bad += 1; continue
        if hashlib.sha256(data).hexdigest() != h:
            print(f'changed: {fname}'); bad += 1
    return 1 if bad else 0


if __name__ == '__main__':
    a = sys.argv[1:]
    if a and a[0] == '--check' and len(a) == 3:
        sys.exit(check(a[1], a[2]))
    if len(a) < 3:
        print(__doc__, file=sys.stderr); sys.exit(2)
    gather(a[0], a[1], a[2:])
