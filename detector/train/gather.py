"""gather.py - more training and validation images for the detector, from
public repositories (git snapshots), listed in EXTRA.tsv beside this file.

    python3 gather.py OUT_DIR MIRRORS_DIR          # extract, write OUT_DIR/MANIFEST.tsv
    python3 gather.py --check OUT_DIR              # the folder against EXTRA.tsv

MIRRORS_DIR holds bare git snapshots as OWNER+NAME/repo (what the search
tool's fetch leaves in /work/.mirror).  Every file is taken from the commit
recorded in EXTRA.tsv, byte for byte (never re-encoded), under
OUT_DIR/<class>/<source>/<name>, with a manifest in the format of
../shared/data/detector/MANIFEST.tsv, so data.py reads both folders alike.
The images are not committed: most of them are under licences that do not
allow redistribution here (or say nothing); the list, with each file's
origin, commit, licence and SHA-256, is what is committed.

The selection (SOURCES below) was made by looking at every candidate:
sample grids and single outputs of a generator are kept; figures,
diagrams, screenshots, and panels that show a real input beside the output
are left out.
"""

import csv
import hashlib
import io
import os
import subprocess
import sys

from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
EXTRA = os.path.join(HERE, "EXTRA.tsv")
sys.path.insert(0, HERE)

COMFY, COMFY_LIC = "comfyanonymous/ComfyUI_examples", "ISC-style licence of the workflows (repository LICENSE); images are the examples' outputs"
KOLORS, KOLORS_LIC = "Kwai-Kolors/Kolors", "Apache-2.0 (repository); Kolors MODEL_LICENSE (outputs are not model derivatives)"

# (class, source/generator, repository, paths, licence, notes)
SOURCES = [
    ("real", "urban100", "jbhuang0604/SelfExSR", ["data/Urban100/image_SRF_2/*_HR.png"], "see repository (research benchmark)",
     "Urban100 ground truth (Huang et al. 2015): city photographs"),
    ("real", "bsd100", "jbhuang0604/SelfExSR", ["data/BSD100/image_SRF_2/*_HR.png"], "see repository (research benchmark)",
     "BSD100 ground truth (Berkeley segmentation set): natural photographs"),
    ("real", "sun-hays80", "jbhuang0604/SelfExSR", ["data/Sun-Hays80/image_SRF_8/*_HR.png"], "see repository (research benchmark)",
     "Sun-Hays 80 ground truth: scene photographs"),
    ("real", "set14", "jbhuang0604/SelfExSR", ["data/Set14/image_SRF_2/*_HR.png"], "see repository (research benchmark)",
     "Set14 ground truth"),
    ("real", "unsplash-inpainting", "CompVis/stable-diffusion", ["data/inpainting_examples/*.png", "!*_mask.png"], "MIT (repository)",
     "photographs used as inpainting inputs (Unsplash), 512 px"),
    ("real", "imagenet-val-titok", "bytedance/1d-tokenizer", ["assets/ILSVRC2012_val_*.png"], "Apache-2.0 (repository)",
     "ImageNet validation photographs (tokenizer inputs)"),
    ("real", "imagenet-sample-images", "EliSchwartz/imagenet-sample-images", ["*.JPEG"],
     "ImageNet terms of access: non-commercial research and education; each image is its owner's",
     "one ImageNet training photograph per class (1000 classes; ../shared holds 250 of them, the same source)"),
    ("real", "ml72-photos", "ML72/AI-Image-Classifier-Playground", ["public/images/real/*.jpg"],
     "MIT (repository); images chosen as free of copyright restrictions (public/images/README.md)",
     "photographs in five categories (nature, animals, people, food, city), JPEG as found on the web; held out"),
    ("fake", "ml72-ai", "ML72/AI-Image-Classifier-Playground", ["public/images/ai/*.jpg"],
     "MIT (repository); images chosen as free of copyright restrictions (public/images/README.md)",
     "AI-made pictures by era (GANs, then four generations of diffusion models), 559 px JPEG crops; held out"),
    ("fake", "sd1", "CompVis/stable-diffusion", ["assets/stable-samples/txt2img/*.png", "assets/stable-samples/img2img/mountains-*.png"],
     "MIT (repository)", "Stable Diffusion 1.x text-to-image grids and img2img outputs"),
    ("fake", "ldm", "CompVis/latent-diffusion", ["assets/a-*.png", "assets/fire.png", "assets/birdhouse.png",
                                                 "assets/the-earth-is-on-fire,-oil-on-canvas.png", "assets/txt2img-preview.png",
                                                 "assets/txt2img-convsample.png"],
     "MIT (repository)", "Latent Diffusion (LDM-KL-8-G) text-to-image samples"),
    ("fake", "sd2", "Stability-AI/stablediffusion", ["assets/stable-samples/txt2img/768/merged-000[2345].png",
                                                     "assets/stable-samples/txt2img/merged-000[13].png",
                                                     "assets/stable-samples/stable-unclip/panda.jpg",
                                                     "assets/stable-samples/stable-unclip/houses_out.jpeg",
                                                     "assets/stable-samples/stable-unclip/oldcar*.jpeg",
                                                     "assets/stable-samples/stable-unclip/plates_out.jpeg"],
     "MIT (repository)", "Stable Diffusion 2.x text-to-image grids and unCLIP variations"),
    ("fake", "sdxl-generative-models", "Stability-AI/generative-models", ["assets/000.jpg", "assets/turbo_tile.png"],
     "MIT (repository)", "SDXL / SDXL-Turbo sample grids"),
    ("fake", "pixart-alpha-2", "PixArt-alpha/PixArt-alpha", ["asset/images/more-samples1.png", "asset/images/controlnet/0_*.png"],
     "AGPL-3.0 (repository)", "PixArt-alpha samples and ControlNet outputs"),
    ("fake", "titok-maskgen", "bytedance/1d-tokenizer", ["assets/vis[123].png", "assets/maskgen_vis1.png"],
     "Apache-2.0 (repository)", "TiTok / MaskGen class-conditional sample grids"),
    ("fake", "sit", "willisma/SiT", ["visuals/visual.png", "visuals/visual_2.png"], "MIT (repository)",
     "SiT-XL/2 ImageNet sample grids"),
    # 2026-12-06: generators of 2023-2025 from ComfyUI's example outputs (each
    # file chosen by eye: UI screenshots, condition maps and inputs left out).
    ("fake", "comfy-sd1", COMFY, ["2_pass_txt2img/latent_upscale_different_prompt_model.png", "area_composition/*.png",
                                   "controlnet/2_pass_pose_worship.png", "hypernetworks/hypernetwork_example_output.png",
                                   "inpaint/*.png", "lcm/lcm_basic_example.png", "noisy_latent_composition/*.png",
                                   "!workflow_*", "!inpaint_example.png"],
     COMFY_LIC, "Stable Diffusion 1.x and its fine-tunes (area composition, 2-pass, hypernetwork, LCM, inpainting: whole image VAE-decoded)"),
    ("fake", "comfy-sd2-unclip", COMFY, ["unclip/mountains.png", "unclip/sunset.png", "unclip/unclip_2pass.png"], COMFY_LIC,
     "Stable Diffusion 2.1 unCLIP outputs"),
    ("fake", "comfy-sdxl", COMFY, ["sdxl/*.png", "sdturbo/*.png", "edit_models/*.png"], COMFY_LIC, "SDXL, SDXL-Turbo, SDXL edit model"),
    ("fake", "comfy-sd3", COMFY, ["sd3/*.png"], COMFY_LIC, "Stable Diffusion 3 and 3.5"),
    ("fake", "stable-cascade", COMFY, ["stable_cascade/*.png"], COMFY_LIC, "Stable Cascade"),
    ("fake", "comfy-auraflow", COMFY, ["aura_flow/*.png"], COMFY_LIC, "AuraFlow 0.1/0.2"),
    ("fake", "comfy-chroma", COMFY, ["chroma/*.png"], COMFY_LIC, "Chroma"),
    ("fake", "comfy-cosmos", COMFY, ["cosmos_predict2/*.png"], COMFY_LIC, "Cosmos Predict2 text-to-image"),
    ("fake", "comfy-hunyuan-dit", COMFY, ["hunyuan_dit/*.png"], COMFY_LIC, "HunyuanDiT 1.2"),
    ("fake", "comfy-lumina2", COMFY, ["lumina2/*.png"], COMFY_LIC, "Lumina Image 2.0"),
    ("fake", "comfy-omnigen2", COMFY, ["omnigen/*.png"], COMFY_LIC, "OmniGen2"),
    ("fake", "comfy-video", COMFY, ["ltxv/ltxv_text_to_video*.webp", "mochi/*.webp", "wan/text_to_video*.webp",
                                   "wan22/text_to_video*.webp", "hunyuan_video/*text_to_video*.webp"], COMFY_LIC,
     "text-to-video generators (LTX-Video, Mochi, Wan 2.1/2.2, HunyuanVideo): animated WebP, first frame read; "
     "image-to-video left out (their first frame is another example's image)"),
    # held out (heldout.tsv): the newest generators, unseen in training
    ("fake", "flux", COMFY, ["flux/*.png"], COMFY_LIC,
     "FLUX.1 dev/schnell/fill/canny/depth/redux/kontext; held out (PNG only: the product reads JPEG and PNG)"),
    ("fake", "flux2", COMFY, ["flux2/*.png"], COMFY_LIC, "FLUX.2; held out"),
    ("fake", "hidream", COMFY, ["hidream/*.png"], COMFY_LIC, "HiDream I1 / E1; held out"),
    ("fake", "qwen-image", COMFY, ["qwen_image/*.png"], COMFY_LIC, "Qwen-Image and Qwen-Image-Edit; held out"),
    ("fake", "z-image", COMFY, ["z_image/*.png"], COMFY_LIC, "Z-Image Turbo; held out"),
    ("fake", "kolors", KOLORS, ["controlnet/outputs/*.jpg", "dreambooth/ktxl_test_image.png", "inpainting/asset/*_kolors.png",
                               "ipadapter/asset/*_kolors_ip_result.jpg", "ipadapter_FaceID/assets/*_res.png",
                               "ipadapter_FaceID/assets/*_Kolors.png", "scripts/outputs/*.jpg",
                               "!*_condition.jpg", "!*_sdxl.jpg"], KOLORS_LIC,
     "Kolors outputs (ControlNet, IP-Adapter, FaceID, inpainting, DreamBooth)"),
    ("fake", "sdxl", KOLORS, ["controlnet/outputs/*_sdxl.jpg", "inpainting/asset/*_sdxl.png",
                              "ipadapter/asset/*_sdxl_ip_result.jpg", "ipadapter_FaceID/assets/*_SDXL.png"],
     KOLORS_LIC, "SDXL outputs shown beside Kolors'"),
    ("fake", "midjourney", KOLORS, ["ipadapter/asset/*_mj_cw_result.png"], KOLORS_LIC,
     "Midjourney character-reference outputs shown beside Kolors'; held out (midjourney)"),
    ("fake", "stable-cascade", "Stability-AI/StableCascade", ["figures/collage_[1234].jpg", "figures/text-to-image-example-penguin.jpg"],
     "MIT (repository)", "Stable Cascade sample collages"),
    ("fake", "deepfloyd-if", "deep-floyd/IF", ["pics/dream-III.jpg", "pics/main.jpg", "pics/nabla.jpg", "pics/style-transfer.jpg"],
     "Modified MIT (repository LICENSE)", "DeepFloyd IF sample grids and collages (IF watermark in a corner)"),
    ("fake", "hunyuan-dit", "Tencent/HunyuanDiT", ["controlnet/asset/output/*.jpg", "ipadapter/asset/output/*",
                                                 "lora/asset/porcelain/inference/*.png"],
     "Tencent Hunyuan Community Licence (repository LICENSE.txt; not for use in the EU, UK or South Korea)",
     "HunyuanDiT ControlNet, IP-Adapter and LoRA outputs (inputs left out)"),
    # a second wild pair, held out: pictures scaled to 1024x768 JPEG as they circulate
    ("real", "declan-photos", "declan-wright/Image-Dataset", ["B*.jpg"], "MIT (repository)",
     "photographs with EXIF from before 2021, scaled to 1024x768 (README); held out"),
    ("fake", "declan-ai", "declan-wright/Image-Dataset", ["A*.jpg"], "MIT (repository)",
     "AI-made pictures in six categories, scaled to 1024x768 (README); held out"),
]


def git(repo_dir, *args, binary=False):
    r = subprocess.run(["git", "--git-dir", repo_dir, *args], capture_output=True, check=True)
    return r.stdout if binary else r.stdout.decode()


def match(path, pats):
    import fnmatch
    inc = [p for p in pats if not p.startswith("!")]
    exc = [p[1:] for p in pats if p.startswith("!")]
    return any(fnmatch.fnmatch(path, p) for p in inc) and not any(fnmatch.fnmatch(os.path.basename(path), p) for p in exc)


FIELDS = ["class", "path", "origin", "origin_path", "commit_or_version", "license", "generator", "width", "height",
          "format", "sha256", "bytes", "mode", "notes"]


def shared_files():
    """sha256 and (origin, path) of every file ../shared already holds, so
    that nothing is counted twice (the shared set re-encoded some files, so
    the hash alone does not catch them)."""
    import data
    hashes, origins = set(), set()
    with open(os.path.join(data.DEFAULT_ROOT, "MANIFEST.tsv"), newline="") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            hashes.add(r["sha256"])
            origins.add((r["origin"], r["origin_path"]))
    return hashes, origins


def gather(out, mirrors):
    rows, seen, names = [], set(), set()
    shared_hashes, shared_origins = shared_files()
    for cls, src, repo, pats, lic, notes in SOURCES:
        rd = os.path.join(mirrors, repo.replace("/", "+"), "repo")
        commit = git(rd, "rev-parse", "HEAD").strip()
        for line in git(rd, "ls-tree", "-r", "HEAD").splitlines():
            meta, path = line.split("\t", 1)
            if not match(path, pats):
                continue
            try:
                data = git(rd, "cat-file", "blob", meta.split()[2], binary=True)
            except subprocess.CalledProcessError:
                continue  # not in the snapshot (4 MiB and more)
            h = hashlib.sha256(data).hexdigest()
            if h in seen or len(data) < 100 or h in shared_hashes or ("github:" + repo, path) in shared_origins:
                continue
            try:
                with Image.open(io.BytesIO(data)) as im:
                    w, ht, fmt, mode = im.width, im.height, im.format, im.mode
            except Exception:
                continue
            seen.add(h)
            name = os.path.basename(path).replace(" ", "_").replace(",", "_")
            rel = "%s/%s/%s" % (cls, src, name)
            if rel in names:  # two files of one name (txt2img/ and txt2img/768/): the folder too
                name = os.path.basename(os.path.dirname(path)) + "-" + name
                rel = "%s/%s/%s" % (cls, src, name)
            names.add(rel)
            os.makedirs(os.path.join(out, cls, src), exist_ok=True)
            with open(os.path.join(out, rel), "wb") as f:
                f.write(data)
            rows.append({"class": cls, "path": rel, "origin": "github:" + repo, "origin_path": path,
                         "commit_or_version": commit, "license": lic, "generator": src if cls == "fake" else "",
                         "width": w, "height": ht, "format": fmt, "sha256": h, "bytes": len(data), "mode": mode,
                         "notes": notes})
    for p in (os.path.join(out, "MANIFEST.tsv"), EXTRA):
        with open(p + ".tmp", "w", newline="") as f:
            wr = csv.DictWriter(f, FIELDS, delimiter="\t")
            wr.writeheader()
            wr.writerows(rows)
        os.replace(p + ".tmp", p)
    print("%d files (%d real, %d fake) in %s" % (len(rows), sum(r["class"] == "real" for r in rows),
                                                sum(r["class"] == "fake" for r in rows), out))


def check(out):
    bad = 0
    with open(EXTRA, newline="") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            p = os.path.join(out, r["path"])
            if not os.path.exists(p) or hashlib.sha256(open(p, "rb").read()).hexdigest() != r["sha256"]:
                print("missing or changed:", r["path"])
                bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        sys.exit(check(sys.argv[2]))
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    gather(sys.argv[1], sys.argv[2])
