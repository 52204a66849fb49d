"""Word-level KD: losses, the KD criterion, the offline top-k cache (frozen teachers: :mod:`espnet_kd.teacher`);
CTC-branch KD, the frame-level KL of the CTC posteriors (:mod:`espnet_kd.kd.ctc_kd`)."""
