import pytest
import torch

from workers.ml.device import resolve_device

no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")


def test_cpu_is_passed_through() -> None:
    assert resolve_device("cpu") == "cpu"


@no_cuda
def test_auto_picks_cpu_without_a_gpu() -> None:
    assert resolve_device("auto") == "cpu"


@no_cuda
@pytest.mark.parametrize("preference", ["cuda", "cuda:0"])
def test_asking_for_cuda_without_a_gpu_raises_instead_of_falling_back(preference: str) -> None:
    with pytest.raises(ValueError, match="no CUDA GPU"):
        resolve_device(preference)


def test_unknown_device_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown device"):
        resolve_device("tpu")
