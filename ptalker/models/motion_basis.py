"""A linear motion basis: vertex offsets <-> a few whitened coefficients per frame (PCA).

The flow-matching sampler (:mod:`ptalker.models.flow`) generates motion in this space: K
coefficients per frame instead of V*3 offsets, each scaled to unit variance over the training
frames, so that its noise N(0, I) and the data have the same scale in every direction.

    offsets (..., V, 3) --encode--> coefficients (..., K) --decode--> offsets (..., V, 3)

Fitted by :meth:`MotionBasis.fit` (randomized PCA, ``torch.pca_lowrank``) on training frames;
stored as three tensors (mean, components, scale), so a checkpoint carries it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ptalker.errors import PtalkerError

MIN_SCALE = 1e-8
"""Components whose standard deviation is below this (mesh units) are not scaled up."""


@dataclass
class MotionBasis:
    """mean (V*3,), components (K, V*3) orthonormal rows, scale (K,) their standard deviations."""

    mean: torch.Tensor
    components: torch.Tensor
    scale: torch.Tensor

    @property
    def size(self) -> int:
        """K: coefficients per frame."""
        return len(self.components)

    @classmethod
    def fit(cls, offsets: torch.Tensor, size: int, seed: int = 0) -> "MotionBasis":
        """The ``size``-component basis of ``offsets`` (N, V, 3) training frames.

        Raises:
            PtalkerError: fewer frames than components, or ``size`` < 1.
        """
        frames = offsets.reshape(len(offsets), -1).double()  # (N, V*3)
        if size < 1 or len(frames) <= size:
            raise PtalkerError(f"motion basis: {size} components need more than {size} training frames, "
                               f"got {len(frames)}")
        mean = frames.mean(dim=0)
        generator_state = torch.random.get_rng_state()
        torch.manual_seed(seed)  # pca_lowrank draws a random projection
        _, singular, vectors = torch.pca_lowrank(frames - mean, q=min(size + 8, frames.shape[1]), center=False,
                                                 niter=4)
        torch.random.set_rng_state(generator_state)
        scale = singular[:size] / (len(frames) - 1) ** 0.5
        return cls(mean.float(), vectors[:, :size].T.float().contiguous(), scale.float())

    def encode(self, offsets: torch.Tensor) -> torch.Tensor:
        """(..., K) whitened coefficients of ``offsets`` (..., V, 3)."""
        flat = offsets.reshape(*offsets.shape[:-2], -1) - self.mean  # (..., V*3)
        return (flat @ self.components.T) / self.scale.clamp(min=MIN_SCALE)

    def decode(self, coefficients: torch.Tensor, vertex_ids: torch.Tensor | None = None) -> torch.Tensor:
        """(..., V, 3) offsets of ``coefficients`` (..., K); with ``vertex_ids`` (N,), only those
        vertices' (..., N, 3)."""
        components, mean = self.components, self.mean
        if vertex_ids is not None:
            columns = (3 * vertex_ids[:, None] + torch.arange(3, device=vertex_ids.device)).reshape(-1)  # (3N,)
            components, mean = components[:, columns], mean[columns]
        flat = (coefficients * self.scale.clamp(min=MIN_SCALE)) @ components + mean
        return flat.reshape(*coefficients.shape[:-1], -1, 3)

    def explained(self, offsets: torch.Tensor) -> float:
        """Share (0..1) of the variance of ``offsets`` (N, V, 3) around the basis mean that the
        basis keeps."""
        centred = offsets.reshape(len(offsets), -1) - self.mean
        residual = centred - (centred @ self.components.T) @ self.components
        return float(1.0 - residual.square().sum() / centred.square().sum().clamp(min=1e-30))

    def state(self) -> dict[str, torch.Tensor]:
        """The tensors to store in a checkpoint (:meth:`from_state` reads them back)."""
        return {"mean": self.mean, "components": self.components, "scale": self.scale}

    @classmethod
    def from_state(cls, state: dict[str, torch.Tensor]) -> "MotionBasis":
        return cls(state["mean"], state["components"], state["scale"])
