"""CPU queries (mirrors ``torch.backends.cpu``)."""


def get_cpu_capability() -> str:
    """The vector instruction set tapegrad's kernels target: ``"DEFAULT"`` (NumPy
    picks its own at run time) (``torch.backends.cpu.get_cpu_capability``)."""
    return "DEFAULT"
