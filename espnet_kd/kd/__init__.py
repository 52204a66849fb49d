"""Word-level KD: losses, the KD criterion, the offline top-k cache (frozen teachers: :mod:`espnet_kd.teacher`)."""
