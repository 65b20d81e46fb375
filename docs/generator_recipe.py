#!/usr/bin/env python3
"""Sign a generated picture with what made it (docs/manifest-definition.md).

An image generator calls this after writing each picture: it records the
model, its version, the prompt and seed as the parameters of a c2pa.created
action with digitalSourceType trainedAlgorithmicMedia, the lab as author
(schema.org CreativeWork) and a request not to train on the output
(cawg.training-mining), then runs `prov sign -m`.

    PROV_PASSPHRASE=... python3 docs/generator_recipe.py out.png --key gen.key \\
        --model example-diffusion --model-version 3.0 --prompt "a lighthouse" --seed 42

Writes OUT.signed.EXT beside the input unless -o is given.  Exit status is
prov's.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

AI = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


def definition(a):
    params = {"prompt": a.prompt}
    if a.seed is not None:
        params["seed"] = a.seed
    return {
        "title": a.title or os.path.basename(a.output),
        "claim_generator_info": [{"name": a.generator, "version": a.generator_version}],
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": [{
                "action": "c2pa.created",
                "digitalSourceType": AI,
                "softwareAgent": {"name": a.model, "version": a.model_version},
                "parameters": params,
            }]}},
            {"label": "stds.schema-org.CreativeWork", "data": {
                "@context": "https://schema.org", "@type": "CreativeWork",
                "author": [{"@type": "Organization", "name": a.author}],
            }},
            {"label": "cawg.training-mining", "data": {"entries": {
                "cawg.ai_generative_training": {"use": "notAllowed"},
                "cawg.ai_training": {"use": "notAllowed"},
                "cawg.data_mining": {"use": "notAllowed"},
            }}},
        ],
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("input")
    p.add_argument("-o", "--output")
    p.add_argument("--key", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--model-version", default="1")
    p.add_argument("--prompt", default="")
    p.add_argument("--seed", type=int)
    p.add_argument("--title")
    p.add_argument("--author", default="Example AI Lab")
    p.add_argument("--generator", default="Example Image Generator")
    p.add_argument("--generator-version", default="1.0")
    p.add_argument("--prov", default=os.environ.get("PROV", "prov"))
    a = p.parse_args()
    if not a.output:
        base, ext = os.path.splitext(a.input)
        a.output = base + ".signed" + ext
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(definition(a), f)
        path = f.name
    try:
        return subprocess.call([a.prov, "sign", a.input, "-o", a.output, "--key", a.key, "-m", path])
    finally:
        os.unlink(path)


if __name__ == "__main__":
    sys.exit(main())
