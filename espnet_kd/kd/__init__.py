"""Word-level KD: losses, the KD criterion, frozen teachers, the offline top-k cache."""
