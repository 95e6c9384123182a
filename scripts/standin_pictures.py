"""Pictures of the stand-in head: neutral, jaw open, blink, expressions and shapes.

A flat-shaded orthographic painter's-algorithm drawing with matplotlib (the real renderer
comes with the rendering issue). Usage:

    .venv/bin/python scripts/standin_pictures.py --out assets/flame/standin_preview.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402

LIGHT = np.array([0.3, 0.4, 1.0]) / np.linalg.norm([0.3, 0.4, 1.0])


def _rotate_y(v: np.ndarray, degrees: float) -> np.ndarray:
    a = np.deg2rad(degrees)
    rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    return v @ rot.T


def draw(ax, vertices: np.ndarray, faces: np.ndarray, yaw_deg: float = 0.0, title: str = "") -> None:
    """Flat-shade the mesh (V, 3), faces (F, 3) seen from +z after turning it by ``yaw_deg``."""
    v = _rotate_y(vertices, yaw_deg)
    tri = v[faces]  # (F, 3, 3)
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True) + 1e-12
    facing = normals[:, 2] > 0
    order = np.argsort(tri[facing, :, 2].mean(1))
    shade = np.clip(normals[facing] @ LIGHT, 0, 1)[order]
    colors = np.stack([0.25 + 0.7 * shade, 0.22 + 0.62 * shade, 0.2 + 0.55 * shade], 1)
    ax.add_collection(PolyCollection(tri[facing][order][:, :, :2], facecolors=colors, edgecolors="none"))
    ax.set_xlim(-0.11, 0.11)
    ax.set_ylim(-0.14, 0.13)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("assets/flame/standin_preview.png"))
    args = parser.parse_args()
    from ptalker.flame.flame_model import FlameModel

    model = FlameModel.load()
    jaw_open = {"jaw_pose": torch.tensor([0.3, 0.0, 0.0])}
    views = [
        ("neutral", {}, 0), ("neutral, 3/4 view", {}, 40), ("profile", {}, 90),
        ("jaw open", jaw_open, 0), ("jaw open, 3/4 view", jaw_open, 35),
        ("blink", {"expression": model.expression_vector(blink_left=1, blink_right=1)}, 0),
        ("smile", {"expression": model.expression_vector(smile_left=1, smile_right=1)}, 0),
        ("lip pucker", {"expression": model.expression_vector(lip_pucker=1)}, 50),
        ("brow raise + lips part", {"expression": model.expression_vector(brow_raise=1, lips_part=1)}, 0),
        ("cheek puff", {"expression": model.expression_vector(cheek_puff_left=1, cheek_puff_right=1)}, 0),
        (f"{model.shape_names[0]} +2 sd", {"shape": torch.eye(len(model.shape_names))[0] * 2}, 0),
        (f"{model.shape_names[5]} +2 sd", {"shape": torch.eye(len(model.shape_names))[5] * 2}, 90),
    ]
    fig, axes = plt.subplots(2, 6, figsize=(15, 6.2))
    for ax, (title, params, yaw) in zip(axes.ravel(), views):
        vertices = model(**params).vertices.detach().numpy()
        draw(ax, vertices, model.faces, yaw, title)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=60)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
