"""Measures of a talking face from vertex sequences alone (ground truth or any model's output).

Every measure reads only vertices, so the same numbers describe a synthetic corpus, a capture
and a prediction. Lengths are in the meshes' units (metres for FLAME), times in seconds.
"Head-aligned" means in the template's frame after :func:`remove_head_motion`: x to the
subject's left, y up, z forward.

- Head motion (:func:`remove_head_motion`): per frame, the rotation R and translation t that
  best map the template's rigid vertices (scalp and ears, :class:`FaceSets`) onto the frame's
  (Kabsch, no scaling): ``vertices ~ template @ R.T + t``, R about the template's origin.
  ``aligned = (vertices - t) @ R`` undoes it.
- Lip gap (:func:`lip_gap`): per frame, the mean over paired lip-contact vertices of
  (upper y - lower y), head-aligned: 0 with the lips closed, > 0 open, < 0 pressed together.
- Lid gap (:func:`lid_gap`): the same for each eye's paired lid vertices, (left, right).
- Blinks (:func:`blink_times`): runs of frames where both lids are below a fraction of their
  open (median) gap; a blink's time is the centre of its run.
- Audio envelope (:func:`audio_envelope`): linear RMS of the waveform per motion frame, over
  a 1/fps window centred on the frame's instant i/fps.
- Audio-motion lag (:func:`audio_motion_lag`): the shift that maximises the normalised
  cross-correlation between the audio envelope and the mouth opening, refined below a frame by
  a parabola through the peak and its neighbours. > 0: the mouth moves after the sound.
- Style statistics (:class:`StyleStatistics`): one number per aspect of a speaking style,
  each defined on its field.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np
from scipy.spatial.transform import Rotation

from ptalker.constants import METRES_TO_MM, VOCASET_FPS
from ptalker.errors import PtalkerError
from ptalker.mesh.checks import as_fps, as_frames, as_template
from ptalker.mesh.face_sets import FaceSets
from ptalker.mesh.stabilize import remove_head_motion

UP_AXIS = 1
"""y: the head's up axis in the template's frame."""
OPEN_LIP_GAP_M = 0.5e-3
"""Frames whose lip gap exceeds this (0.5 mm) count as open-mouthed for jaw_opening_mm."""
STILL_LIP_SPEED_M_PER_S = 1e-3
"""Below this mean lip-vertex speed (1 mm/s) the lips are still and jerk_ratio is 0."""
JERK_REFERENCE_FPS = float(VOCASET_FPS)
"""jerk_ratio is scaled to this frame rate (30 fps) so smooth motion scores alike at any fps."""
JERK_MIN_FRAMES = 4
"""A third difference needs four frames."""
DEFAULT_CLOSED_FRACTION = 0.3
"""A lid counts as closed below this fraction of its open (median) gap."""
DEFAULT_MAX_LAG_S = 0.5
RADIANS_TO_DEGREES = 180.0 / np.pi


def _paired_gap(vertices: np.ndarray, upper: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """(T, V, 3) -> (T,) mean over pairs of upper y - lower y."""
    return (vertices[:, upper, UP_AXIS] - vertices[:, lower, UP_AXIS]).mean(axis=1)


def _head_frame(vertices: np.ndarray, sets: FaceSets, template: np.ndarray | None,
                what: str) -> np.ndarray:
    """(T, V, 3) float64 vertices, head motion removed when a template is given."""
    vertices = as_frames(vertices, what)
    sets.check(vertices.shape[1])
    return vertices if template is None else remove_head_motion(vertices, template, sets.rigid).aligned


def lip_gap(vertices: np.ndarray, sets: FaceSets, template: np.ndarray | None = None) -> np.ndarray:
    """(T,) lip gap: mean over contact pairs of (upper - lower) along the head's up axis, in the
    vertices' units: 0 closed, > 0 open, < 0 pressed.

    ``vertices`` (T, V, 3) are taken as head-aligned (y up: FLAME output without global/neck pose,
    or ``HeadMotion.aligned``); with ``template`` (V, 3) given, head motion is removed here.
    """
    aligned = _head_frame(vertices, sets, template, "lip_gap")
    return _paired_gap(aligned, sets.lip_upper, sets.lip_lower)


def lid_gap(vertices: np.ndarray, sets: FaceSets, template: np.ndarray | None = None) -> np.ndarray:
    """(T, 2) eyelid gaps (left, right), as :func:`lip_gap` for each eye's lid pairs."""
    aligned = _head_frame(vertices, sets, template, "lid_gap")
    return np.stack([_paired_gap(aligned, up, low) for up, low in zip(sets.lid_upper, sets.lid_lower)],
                    axis=1)  # (T, 2)


def blink_times(lid_gap: np.ndarray, fps: float,
                closed_fraction: float = DEFAULT_CLOSED_FRACTION) -> np.ndarray:
    """(N,) blink times in seconds, ascending, from ``lid_gap`` (T, 2) of :func:`lid_gap`.

    A blink is a run of frames where both lids are below ``closed_fraction`` (in (0, 1)) of their
    open gap (each eye's median over the sequence); its time is the run's centre,
    (first + last frame) / 2 / fps. A run cut by the sequence's start or end counts. When an
    eye's median gap is not positive (mostly shut) no blink is detectable.
    """
    gap = np.asarray(lid_gap, dtype=np.float64)
    if gap.ndim != 2 or gap.shape[1] != 2 or gap.shape[0] < 1:
        raise PtalkerError(f"lid_gap: expected shape (T, 2) (left, right), got {gap.shape}")
    fps = as_fps(fps)
    if not 0.0 < closed_fraction < 1.0:
        raise PtalkerError(f"closed_fraction: expected a number in (0, 1), got {closed_fraction}")
    open_gap = np.median(gap, axis=0)  # (2,)
    if np.any(open_gap <= 0):
        return np.zeros(0)
    closed = np.all(gap < closed_fraction * open_gap, axis=1).astype(np.int8)  # (T,)
    edges = np.diff(np.concatenate([[0], closed, [0]]))  # (T + 1,): +1 run starts, -1 run ends
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    return (starts + ends) / 2.0 / fps


def audio_envelope(waveform: np.ndarray, sample_rate: float, fps: float, num_frames: int) -> np.ndarray:
    """(T,) linear RMS of ``waveform`` (S,) per motion frame, T = ``num_frames`` at ``fps``.

    Frame i covers the samples in [(i - 1/2) / fps, (i + 1/2) / fps) seconds, clipped to the
    audio (a window centred on the frame's instant i/fps); frames past the audio are 0.
    """
    samples = np.asarray(waveform, dtype=np.float64)
    if samples.ndim != 1 or samples.size == 0 or not np.isfinite(samples).all():
        raise PtalkerError(f"waveform: expected a non-empty finite mono (S,) array, got shape "
                           f"{samples.shape}; downmix multi-channel audio first")
    if not np.isfinite(sample_rate) or sample_rate <= 0:
        raise PtalkerError(f"sample_rate: expected a positive rate in Hz, got {sample_rate}")
    fps = as_fps(fps)
    if int(num_frames) != num_frames or num_frames < 1:
        raise PtalkerError(f"num_frames: expected a positive integer, got {num_frames}")
    energy = np.concatenate([[0.0], np.cumsum(np.square(samples))])  # (S + 1,) running sum
    bounds = (np.arange(int(num_frames) + 1) - 0.5) * sample_rate / fps  # (T + 1,) in samples
    bounds = np.clip(np.ceil(bounds).astype(np.int64), 0, samples.size)  # first sample at or after
    counts = np.diff(bounds)  # (T,)
    sums = energy[bounds[1:]] - energy[bounds[:-1]]  # (T,)
    return np.sqrt(np.maximum(sums, 0.0) / np.maximum(counts, 1))


def normalised_xcorr(audio: np.ndarray, motion: np.ndarray, lags: np.ndarray) -> np.ndarray:
    """(L,) Pearson correlation of audio[t] with motion[t + lag] over the overlap, per lag."""
    frames = audio.size
    corr = np.full(lags.size, np.nan)
    for i, lag in enumerate(lags):
        a = audio[max(0, -lag):frames - max(0, lag)]
        m = motion[max(0, lag):frames - max(0, -lag)]
        a, m = a - a.mean(), m - m.mean()
        norm = np.sqrt(np.dot(a, a) * np.dot(m, m))
        if norm > 0:
            corr[i] = np.dot(a, m) / norm
    return corr


def envelope_correlations(waveform: np.ndarray, sample_rate: float, mouth_opening: np.ndarray, fps: float,
                          max_lag_s: float = DEFAULT_MAX_LAG_S) -> tuple[np.ndarray, np.ndarray]:
    """(lags (L,) in frames, correlations (L,)): the normalised cross-correlation between
    :func:`audio_envelope` of ``waveform`` (S,) and ``mouth_opening`` (T,) (e.g. :func:`lip_gap`,
    T >= 3) for shifts of the mouth up to ``max_lag_s`` (>= 1 / fps; at most T - 2 frames) either
    way; NaN where either signal is constant over the overlap."""
    mouth = np.asarray(mouth_opening, dtype=np.float64)
    if mouth.ndim != 1 or mouth.size < 3:
        raise PtalkerError(f"mouth_opening: expected a (T,) array with T >= 3, got shape {mouth.shape}")
    fps = as_fps(fps)
    max_lag = min(int(np.floor(max_lag_s * fps)), mouth.size - 2)
    if max_lag < 1:
        raise PtalkerError(f"max_lag_s: {max_lag_s} s is under one frame at {fps} fps; "
                           "expected at least 1 / fps")
    envelope = audio_envelope(waveform, sample_rate, fps, mouth.size)  # (T,)
    lags = np.arange(-max_lag, max_lag + 1)  # (L,)
    return lags, normalised_xcorr(envelope, mouth, lags)


def audio_motion_lag(waveform: np.ndarray, sample_rate: float, mouth_opening: np.ndarray,
                     fps: float, max_lag_s: float = DEFAULT_MAX_LAG_S) -> float:
    """Seconds by which the mouth follows the audio (negative: the mouth leads).

    The lag maximises :func:`envelope_correlations`; a parabola through the peak and its two
    neighbours refines it below a frame (not at the range's edge). NaN when either signal is
    constant (no correlation is defined).
    """
    lags, corr = envelope_correlations(waveform, sample_rate, mouth_opening, fps, max_lag_s)
    if np.all(np.isnan(corr)):
        return float("nan")
    peak = int(np.nanargmax(corr))
    offset = 0.0
    if 0 < peak < lags.size - 1 and not np.isnan(corr[peak - 1:peak + 2]).any():
        before, at, after = corr[peak - 1:peak + 2]
        curvature = before - 2.0 * at + after
        if curvature < 0:
            offset = 0.5 * (before - after) / curvature  # vertex of the parabola
    return float((lags[peak] + offset) / fps)


@dataclass
class StyleStatistics:
    """One number per aspect of a speaking style; lengths head-aligned, in millimetres."""

    jaw_opening_mm: float
    """Mean lip gap over the frames whose gap exceeds OPEN_LIP_GAP_M (0 if none): how wide the
    mouth opens while it is open."""
    lip_motion_mm: float
    """Std over time of the mouth width (corner-to-corner distance): rounding and spreading."""
    smile_mm: float
    """Mean over frames and both corners of the corners' height above the template's (up =
    smile). The corners drop as the jaw opens too (stand-in: ~4 mm at 0.1 rad)."""
    asymmetry_mm: float
    """Mean over frames of |left corner displacement| - |right corner displacement| from the
    template. Lengths are mirror-invariant, so an x-mirrored (symmetric) expression gives 0; > 0
    when the left corner moves more. A sideways shift of the whole mouth also gives 0."""
    brow_motion_mm: float
    """Std over time of the mean height (y) of the brow (forehead) vertices."""
    head_motion_deg: float
    """RMS over frames of the angle between each frame's head rotation and the mean rotation."""
    blink_rate_hz: float
    """Blinks (:func:`blink_times`) per second of sequence (T / fps)."""
    jerk_ratio: float
    """mean |3rd difference| / mean |1st difference| of the lip vertices' head-aligned positions
    (euclidean per vertex and frame), times (fps / JERK_REFERENCE_FPS)^2 so that smooth motion
    scores alike at any frame rate. Dimensionless: 0 for motion quadratic in time, about 3.2
    for white-noise jitter at 30 fps, at most 4 (fps / 30)^2. 0 when the lips are still (mean
    speed under STILL_LIP_SPEED_M_PER_S) or T < 4."""

    def to_dict(self) -> dict[str, float]:
        return {name: float(value) for name, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> "StyleStatistics":
        """Inverse of :meth:`to_dict`. Raises PtalkerError on missing or unknown keys."""
        names = [f.name for f in fields(cls)]
        missing = [name for name in names if name not in data]
        unknown = [str(key) for key in data if key not in names]
        if missing or unknown:
            raise PtalkerError(f"style statistics: missing {', '.join(missing) or 'nothing'}, "
                               f"unknown {', '.join(unknown) or 'nothing'}; expected exactly "
                               f"{', '.join(names)}")
        try:
            return cls(**{name: float(data[name]) for name in names})
        except (TypeError, ValueError) as err:
            raise PtalkerError(f"style statistics: expected numbers ({err})") from None


def _mouth_statistics(aligned: np.ndarray, template: np.ndarray, sets: FaceSets) -> dict[str, float]:
    """jaw_opening_mm, lip_motion_mm, smile_mm, asymmetry_mm from (T, V, 3) aligned vertices."""
    gap = _paired_gap(aligned, sets.lip_upper, sets.lip_lower)  # (T,)
    is_open = gap > OPEN_LIP_GAP_M
    corners = aligned[:, sets.mouth_corners]  # (T, 2, 3) left, right
    width = np.linalg.norm(corners[:, 0] - corners[:, 1], axis=1)  # (T,)
    displacement = corners - template[sets.mouth_corners]  # (T, 2, 3)
    lengths = np.linalg.norm(displacement, axis=2)  # (T, 2)
    return {"jaw_opening_mm": float(gap[is_open].mean()) * METRES_TO_MM if is_open.any() else 0.0,
            "lip_motion_mm": float(width.std()) * METRES_TO_MM,
            "smile_mm": float(displacement[..., UP_AXIS].mean()) * METRES_TO_MM,
            "asymmetry_mm": float((lengths[:, 0] - lengths[:, 1]).mean()) * METRES_TO_MM}


def _head_motion_deg(rotation: np.ndarray) -> float:
    """RMS angle (degrees) of (T, 3) axis-angle rotations about their mean rotation."""
    rotations = Rotation.from_rotvec(rotation)
    angles = (rotations.mean().inv() * rotations).magnitude()  # (T,) rad
    return float(np.sqrt(np.mean(np.square(angles)))) * RADIANS_TO_DEGREES


def jerk_ratio(lips: np.ndarray, fps: float) -> float:
    """(T, L, 3) head-aligned lip positions -> jerk_ratio (see StyleStatistics)."""
    if lips.shape[0] < JERK_MIN_FRAMES:
        return 0.0
    step = np.linalg.norm(np.diff(lips, n=1, axis=0), axis=2).mean()  # mean |1st difference|
    if step * fps < STILL_LIP_SPEED_M_PER_S:
        return 0.0
    jerk = np.linalg.norm(np.diff(lips, n=3, axis=0), axis=2).mean()  # mean |3rd difference|
    return float(jerk / step * (fps / JERK_REFERENCE_FPS) ** 2)


def style_statistics(vertices: np.ndarray, template: np.ndarray, sets: FaceSets,
                     fps: float) -> StyleStatistics:
    """The :class:`StyleStatistics` of ``vertices`` (T, V, 3), T >= 2, at ``fps``; head motion
    is removed on ``sets.rigid`` against ``template`` (V, 3), the subject's neutral mesh."""
    vertices = as_frames(vertices, "style_statistics", min_frames=2)
    template = as_template(template, vertices.shape[1])
    sets.check(vertices.shape[1])
    fps = as_fps(fps)
    head = remove_head_motion(vertices, template, sets.rigid)
    aligned = head.aligned  # (T, V, 3)
    gaps = np.stack([_paired_gap(aligned, up, low) for up, low in zip(sets.lid_upper, sets.lid_lower)],
                    axis=1)  # (T, 2)
    brow_height = aligned[:, sets.brows, UP_AXIS].mean(axis=1)  # (T,)
    return StyleStatistics(**_mouth_statistics(aligned, template, sets),
                           brow_motion_mm=float(brow_height.std()) * METRES_TO_MM,
                           head_motion_deg=_head_motion_deg(head.rotation),
                           blink_rate_hz=blink_times(gaps, fps).size * fps / vertices.shape[0],
                           jerk_ratio=jerk_ratio(aligned[:, sets.lips], fps))
