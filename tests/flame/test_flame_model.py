"""FlameModel against a naive FLAME (numpy LBS), on a tiny random model and on the stand-in;
the FLAME directory: which one is used, its checks, and refusing pickles that carry code."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import scipy.sparse
import torch
from helpers import assert_allclose, tiny_flame
from scipy.spatial.transform import Rotation

from ptalker.constants import FLAME_NUM_EXPRESSION, FLAME_NUM_JOINTS, FLAME_NUM_LANDMARKS, FLAME_NUM_SHAPE
from ptalker.errors import PtalkerError, UnsafePickleError
from ptalker.flame.flame_dir import ENV_VAR, resolve_flame_dir, user_flame_dir
from ptalker.flame.flame_files import EMBEDDING_FILE, MODEL_FILE, check_model, read_flame_dir, write_flame_dir
from ptalker.flame.flame_model import FlameModel, FlameOutput
from ptalker.flame.standin import standin_cache_dir

PARENTS = np.array([-1, 0, 1, 1, 1])
NUM_COMPONENTS = FLAME_NUM_SHAPE + FLAME_NUM_EXPRESSION


def naive_flame(model, embedding, shape=None, expression=None, global_pose=None, neck_pose=None,
                jaw_pose=None, eye_pose=None, translation=None):
    """FLAME for one parameter set, written out loop by loop in float64 numpy."""
    v_template = np.asarray(model["v_template"], dtype=np.float64)
    shapedirs = np.asarray(model["shapedirs"], dtype=np.float64)
    coeffs = np.zeros(NUM_COMPONENTS)
    if shape is not None:
        coeffs[:len(shape)] = shape
    if expression is not None:
        coeffs[FLAME_NUM_SHAPE:FLAME_NUM_SHAPE + len(expression)] = expression
    v_shaped = v_template + shapedirs[:, :, :NUM_COMPONENTS] @ coeffs
    regressor = model["J_regressor"]
    regressor = regressor.toarray() if scipy.sparse.issparse(regressor) else np.asarray(regressor)
    joints = regressor @ v_shaped  # (5, 3)
    eye = np.zeros(6) if eye_pose is None else np.asarray(eye_pose, dtype=np.float64)
    poses = [global_pose, neck_pose, jaw_pose, eye[:3], eye[3:]]
    rots = [Rotation.from_rotvec(np.zeros(3) if p is None else np.asarray(p, np.float64)).as_matrix()
            for p in poses]
    feature = np.concatenate([(r - np.eye(3)).ravel() for r in rots[1:]])  # (36,)
    v_posed = v_shaped + np.asarray(model["posedirs"], dtype=np.float64) @ feature
    world = []
    for j in range(FLAME_NUM_JOINTS):
        local = np.eye(4)
        local[:3, :3] = rots[j]
        local[:3, 3] = joints[j] - (joints[PARENTS[j]] if PARENTS[j] >= 0 else 0)
        world.append(local if PARENTS[j] < 0 else world[PARENTS[j]] @ local)
    posed_joints = np.array([w[:3, 3] for w in world])
    out = np.zeros_like(v_posed)
    for i in range(len(v_posed)):
        blended = np.zeros((4, 4))
        for j in range(FLAME_NUM_JOINTS):
            skin = world[j].copy()
            skin[:3, 3] -= world[j][:3, :3] @ joints[j]  # relative to the rest pose
            blended += model["weights"][i, j] * skin
        out[i] = blended[:3, :3] @ v_posed[i] + blended[:3, 3]
    t = np.zeros(3) if translation is None else np.asarray(translation, np.float64)
    out += t
    faces = np.asarray(model["f"], dtype=np.int64)
    landmarks = np.array([sum(b[k] * out[faces[f][k]] for k in range(3))
                          for f, b in zip(embedding["lmk_face_idx"], embedding["lmk_b_coords"])])
    return out, landmarks, posed_joints + t


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    model, embedding = tiny_flame()
    path = write_flame_dir(tmp_path_factory.mktemp("tiny") / "flame", model, embedding)
    return FlameModel(path), model, embedding


def random_params(rng, lead=()):
    return {
        "shape": rng.normal(size=(*lead, FLAME_NUM_SHAPE)),
        "expression": rng.normal(size=(*lead, FLAME_NUM_EXPRESSION)),
        "global_pose": rng.normal(scale=0.3, size=(*lead, 3)),
        "neck_pose": rng.normal(scale=0.3, size=(*lead, 3)),
        "jaw_pose": rng.normal(scale=0.3, size=(*lead, 3)),
        "eye_pose": rng.normal(scale=0.3, size=(*lead, 6)),
        "translation": rng.normal(scale=0.1, size=(*lead, 3)),
    }


def to_torch(params):
    return {k: torch.as_tensor(v, dtype=torch.float32) for k, v in params.items()}


# --- against the naive reference ---------------------------------------------------------------


def test_matches_naive_flame(tiny):
    flame, model, embedding = tiny
    params = random_params(np.random.default_rng(1), lead=(4,))
    with torch.no_grad():
        out = flame(**to_torch(params))
    assert isinstance(out, FlameOutput)
    for b in range(4):
        v, lmk, joints = naive_flame(model, embedding, **{k: p[b] for k, p in params.items()})
        assert_allclose(out.vertices[b], v, 2e-5, f"vertices[{b}]")
        assert_allclose(out.landmarks[b], lmk, 2e-5, f"landmarks[{b}]")
        assert_allclose(out.joints[b], joints, 2e-5, f"joints[{b}]")


@pytest.mark.parametrize("name", ["global_pose", "neck_pose", "jaw_pose", "eye_pose"])
def test_each_pose_alone(tiny, name):
    """Each pose argument drives its own joint (catches swapped joints in the call to smplx)."""
    flame, model, embedding = tiny
    value = np.random.default_rng(2).normal(scale=0.4, size=6 if name == "eye_pose" else 3)
    if name == "eye_pose":
        value[:3] = 0  # only the right eye: left/right swaps show
    with torch.no_grad():
        out = flame(**{name: torch.as_tensor(value, dtype=torch.float32)})
    v, lmk, joints = naive_flame(model, embedding, **{name: value})
    assert_allclose(out.vertices, v, 2e-5, f"vertices for {name}")
    assert_allclose(out.joints, joints, 2e-5, f"joints for {name}")


def test_padding_short_shape_and_expression(tiny):
    flame, model, embedding = tiny
    shape, expression = np.array([1.0, -2.0, 0.5]), np.array([0.3, 0.0, -1.0, 2.0, 1.0])
    with torch.no_grad():
        short = flame(shape=torch.tensor(shape), expression=torch.tensor(expression))
        full = flame(shape=torch.nn.functional.pad(torch.tensor(shape), (0, FLAME_NUM_SHAPE - 3)),
                     expression=torch.nn.functional.pad(torch.tensor(expression), (0, FLAME_NUM_EXPRESSION - 5)))
    assert_allclose(short.vertices, full.vertices, 0.0, "padded vs full")
    v, _, _ = naive_flame(model, embedding, shape=shape, expression=expression)
    assert_allclose(short.vertices, v, 2e-5, "padded vs naive")


def test_zero_params_give_template(tiny):
    flame, model, _ = tiny
    with torch.no_grad():
        out = flame()
    assert out.vertices.shape == (len(model["v_template"]), 3)
    assert_allclose(out.vertices, model["v_template"], 1e-6, "vertices at zero parameters")
    assert_allclose(flame.template, model["v_template"], 1e-6, "template")
    assert flame.num_vertices == len(model["v_template"])
    np.testing.assert_array_equal(flame.faces, model["f"].astype(np.int64))


def test_batch_dims_broadcast(tiny):
    flame, model, embedding = tiny
    rng = np.random.default_rng(3)
    jaw = rng.normal(scale=0.3, size=(2, 1, 3))
    expression = rng.normal(size=(3, 7))
    shape = rng.normal(size=(4,))
    with torch.no_grad():
        out = flame(jaw_pose=torch.tensor(jaw), expression=torch.tensor(expression), shape=torch.tensor(shape))
    V = len(model["v_template"])
    assert out.vertices.shape == (2, 3, V, 3)
    assert out.landmarks.shape == (2, 3, FLAME_NUM_LANDMARKS, 3)
    assert out.joints.shape == (2, 3, FLAME_NUM_JOINTS, 3)
    for i in range(2):
        for j in range(3):
            v, lmk, _ = naive_flame(model, embedding, jaw_pose=jaw[i, 0], expression=expression[j], shape=shape)
            assert_allclose(out.vertices[i, j], v, 2e-5, f"vertices[{i},{j}]")
            assert_allclose(out.landmarks[i, j], lmk, 2e-5, f"landmarks[{i},{j}]")


def test_translation_adds(tiny):
    flame, _, _ = tiny
    params = to_torch(random_params(np.random.default_rng(4), lead=(2,)))
    t = torch.tensor([[0.1, -0.2, 0.3], [1.0, 2.0, 3.0]])
    with torch.no_grad():
        without = flame(**{k: v for k, v in params.items() if k != "translation"})
        moved = flame(**{**params, "translation": t})
    for field in ("vertices", "landmarks", "joints"):
        expected = getattr(without, field) + t[:, None, :]
        assert_allclose(getattr(moved, field), expected, 1e-5, f"translated {field}")


@pytest.mark.parametrize("name, shape", [
    ("jaw_pose", (2,)), ("jaw_pose", (4, 6)), ("eye_pose", (3,)), ("translation", (2, 4)),
    ("global_pose", ()), ("shape", (FLAME_NUM_SHAPE + 1,)), ("expression", (2, FLAME_NUM_EXPRESSION + 1)),
])
def test_bad_last_dim(tiny, name, shape):
    flame, _, _ = tiny
    with pytest.raises(PtalkerError, match=name) as info:
        flame(**{name: torch.zeros(shape)})
    assert "expected" in str(info.value)


def test_accepts_numpy_and_float64(tiny):
    flame, _, _ = tiny
    with torch.no_grad():
        a = flame(jaw_pose=np.array([0.2, 0.0, 0.1]))
        b = flame(jaw_pose=torch.tensor([0.2, 0.0, 0.1], dtype=torch.float32))
    assert a.vertices.dtype == torch.float32
    assert_allclose(a.vertices, b.vertices, 0.0, "numpy vs torch input")


def test_gradients_flow(tiny):
    flame, _, _ = tiny
    expression = torch.zeros(2, 10, requires_grad=True)
    flame(expression=expression).vertices.sum().backward()
    assert expression.grad is not None and torch.isfinite(expression.grad).all()
    assert expression.grad.abs().sum() > 0


# --- the stand-in through FlameModel ------------------------------------------------------------


def test_standin_shapes(standin_model, standin_head):
    V = len(standin_head["model"]["v_template"])
    with torch.no_grad():
        out = standin_model()
    assert out.vertices.shape == (V, 3)
    assert out.landmarks.shape == (FLAME_NUM_LANDMARKS, 3)
    assert out.joints.shape == (FLAME_NUM_JOINTS, 3)
    assert_allclose(out.vertices, standin_head["model"]["v_template"], 1e-6, "stand-in at zero params")
    assert_allclose(standin_model.template, standin_head["model"]["v_template"], 1e-6, "stand-in template")


def test_standin_landmarks_naive(standin_model, standin_head):
    model, embedding = standin_head["model"], standin_head["embedding"]
    params = random_params(np.random.default_rng(5))
    params["expression"] = params["expression"][:19]
    with torch.no_grad():
        out = standin_model(**to_torch(params))
    faces = np.asarray(model["f"], dtype=np.int64)
    v = out.vertices.numpy().astype(np.float64)
    naive = np.array([sum(b[k] * v[faces[f][k]] for k in range(3))
                      for f, b in zip(embedding["lmk_face_idx"], embedding["lmk_b_coords"])])
    assert_allclose(out.landmarks, naive, 1e-6, "stand-in landmarks")
    ref_v, ref_lmk, ref_joints = naive_flame(model, embedding, **params)
    assert_allclose(out.vertices, ref_v, 5e-5, "stand-in vertices vs naive FLAME")
    assert_allclose(out.joints, ref_joints, 5e-5, "stand-in joints vs naive FLAME")


def test_standin_names(standin_model, standin_head):
    assert standin_model.expression_names == standin_head["info"]["expression_names"]
    assert standin_model.shape_names == standin_head["info"]["shape_names"]
    vector = standin_model.expression_vector(blink_left=1.0, smile_right=0.5)
    assert vector.shape == (len(standin_model.expression_names),)
    assert vector[standin_model.expression_names.index("blink_left")] == 1.0
    assert vector[standin_model.expression_names.index("smile_right")] == 0.5
    assert vector.abs().sum() == 1.5
    with pytest.raises(PtalkerError, match="grimace.*blink_left"):
        standin_model.expression_vector(grimace=1.0)
    text = standin_model.describe()
    assert "blink_left" in text and str(standin_model.num_vertices) in text


def test_real_flame_names_default(tiny):
    flame, _, _ = tiny
    assert len(flame.expression_names) == FLAME_NUM_EXPRESSION and len(flame.shape_names) == FLAME_NUM_SHAPE
    assert flame.masks_path is None


# --- the FLAME directory -----------------------------------------------------------------------


def test_ten_plus_ten_model_is_refused(tmp_path):
    model, embedding = tiny_flame(num_components=20)
    path = write_flame_dir(tmp_path / "flame2017", model, embedding)
    with pytest.raises(PtalkerError, match="10\\+10") as info:
        read_flame_dir(path)
    assert MODEL_FILE in str(info.value) and "400" in str(info.value)
    with pytest.raises(PtalkerError, match="10\\+10"):
        FlameModel(path)


@pytest.mark.parametrize("change, match", [
    (lambda m: m.pop("posedirs"), "missing posedirs"),
    (lambda m: m.update(shapedirs=m["shapedirs"][:-1]), "shapedirs"),
    (lambda m: m.update(shapedirs=m["shapedirs"][:, 0]), "shapedirs"),
])
def test_check_model(change, match):
    model, _ = tiny_flame()
    change(model)
    with pytest.raises(PtalkerError, match=match):
        check_model(model, "x.pkl")
    with pytest.raises(PtalkerError, match="expected a FLAME model dict"):
        check_model([1, 2], "x.pkl")


def test_bad_embedding(tmp_path):
    model, embedding = tiny_flame()
    embedding["lmk_b_coords"] = embedding["lmk_b_coords"][:10]
    path = write_flame_dir(tmp_path / "f", model, embedding)
    with pytest.raises(PtalkerError, match=f"{EMBEDDING_FILE}.*lmk_b_coords"):
        read_flame_dir(path)


def test_missing_model_file(tmp_path):
    with pytest.raises(PtalkerError, match=f"no {MODEL_FILE}"):
        read_flame_dir(tmp_path)
    with pytest.raises(PtalkerError, match=f"no {MODEL_FILE}"):
        FlameModel(tmp_path)


class _System:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


@pytest.mark.parametrize("evil_file", [MODEL_FILE, EMBEDDING_FILE])
def test_malicious_flame_dir_refused_before_smplx(tmp_path, evil_file):
    model, embedding = tiny_flame()
    path = write_flame_dir(tmp_path / "flame", model, embedding)
    marker = tmp_path / "PWNED"
    data = {"v_template": _System(f"touch {marker}")} if evil_file == MODEL_FILE else _System(f"touch {marker}")
    (path / evil_file).write_bytes(pickle.dumps(data, protocol=2))
    with pytest.raises(UnsafePickleError, match="system") as info:
        FlameModel(path)
    assert evil_file in str(info.value)
    assert not marker.exists(), "a pickle in the FLAME directory ran code"


def test_write_flame_dir(tmp_path):
    model, embedding = tiny_flame()
    out = tmp_path / "flame"
    write_flame_dir(out, model, embedding, masks={"lips": np.arange(3)}, info={"name": "x"})
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [MODEL_FILE, EMBEDDING_FILE, "FLAME_masks.pkl", "standin.json"])
    with pytest.raises(PtalkerError, match="already exists.*overwrite"):
        write_flame_dir(out, model, embedding)
    other, _ = tiny_flame(seed=9)
    write_flame_dir(out, other, embedding, overwrite=True)
    read_model, _ = read_flame_dir(out)
    np.testing.assert_array_equal(read_model["v_template"], other["v_template"])
    assert not (out / "FLAME_masks.pkl").exists(), "overwrite kept a file from the old directory"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flame"], "temporary folders left behind"


def test_resolve_explicit(tmp_path):
    assert resolve_flame_dir(tmp_path) == tmp_path
    assert resolve_flame_dir(str(tmp_path)) == tmp_path


def test_resolve_env(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "mine"))
    assert resolve_flame_dir() == tmp_path / "mine"
    assert user_flame_dir() == tmp_path / "mine"


def test_resolve_default_is_standin(standin_dir, isolated_cache):
    if (user_flame_dir() / MODEL_FILE).is_file():
        pytest.skip(f"a user FLAME model is installed at {user_flame_dir()}")
    assert os.environ.get(ENV_VAR) is None
    assert resolve_flame_dir() == standin_dir == standin_cache_dir()
    assert str(standin_cache_dir()).startswith(str(isolated_cache))


def test_unused_components_skipped_exactly(standin_model, standin_dir):
    """The stand-in's all-zero trailing components are left out of smplx's product, exactly."""
    assert standin_model.used == {"shape": 11, "expression": 19}
    import smplx

    full = smplx.FLAMELayer(model_path=str(standin_dir), num_betas=FLAME_NUM_SHAPE,
                            num_expression_coeffs=FLAME_NUM_EXPRESSION)
    gen = torch.Generator().manual_seed(0)
    shape = torch.randn(4, FLAME_NUM_SHAPE, generator=gen)
    expression = torch.randn(4, FLAME_NUM_EXPRESSION, generator=gen)
    jaw = torch.tensor([[0.2, 0.0, 0.0]]).expand(4, 3)
    eye = torch.eye(3).expand(4, 1, 3, 3)
    from smplx.lbs import batch_rodrigues

    expected = full(betas=shape, expression=expression, jaw_pose=batch_rodrigues(jaw).unsqueeze(1),
                    global_orient=eye, neck_pose=eye, leye_pose=eye, reye_pose=eye,
                    transl=torch.zeros(4, 3)).vertices
    got = standin_model(shape=shape, expression=expression, jaw_pose=jaw).vertices
    assert_allclose(got, expected, atol=1e-6)
