"""Word-KD students on tiny real ESPnet models: ESPnet's loss at λ=0, frozen teacher, gradients."""

import copy

import pytest
import torch

from tests.tasks import tiny_espnet as tiny


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from espnet2.tasks.asr import ASRTask

    from espnet_kd.tasks.asr_word_kd import ASRWordKDTask
    from espnet_kd.tasks.st_word_kd import STWordKDTask

    root = tmp_path_factory.mktemp("models")
    tokens = tiny.write_lines(root / "tokens.txt", tiny.TOKENS)
    src_tokens = tiny.write_lines(root / "src_tokens.txt", tiny.SRC_TOKENS)
    asr_teacher = tiny.make_asr_model(root / "asr_teacher", tokens, seed=1)
    mt_teacher = tiny.make_mt_model(root / "mt_teacher", tokens, src_tokens, seed=2)
    # a stock ESPnet student, saved, to serve as its own teacher
    student_as_teacher = tiny.make_asr_model(root / "student_copy", tokens, seed=3)

    def asr_student(teacher=asr_teacher, lam=0.5, topk=4, temperature=1.0):
        args = tiny.parse(ASRWordKDTask, [
            "--token_list", str(tokens), "--output_dir", str(root / "s"), "--token_type", "char",
            *tiny.ASR_MODEL_OPTIONS, "--kd_teacher_config", str(teacher[0]),
            "--kd_teacher_model_file", str(teacher[1]), "--kd_lambda", str(lam),
            "--kd_topk", str(topk), "--kd_temperature", str(temperature)])
        torch.manual_seed(3)
        return ASRWordKDTask.build_model(args)

    def st_student(lam=0.5, topk=4):
        args = tiny.parse(STWordKDTask, [
            "--token_list", str(tokens), "--output_dir", str(root / "st"), "--token_type", "char",
            *tiny.ST_MODEL_OPTIONS, "--kd_teacher_config", str(mt_teacher[0]),
            "--kd_teacher_model_file", str(mt_teacher[1]), "--kd_lambda", str(lam), "--kd_topk", str(topk)])
        torch.manual_seed(4)
        return STWordKDTask.build_model(args)

    return dict(asr_student=asr_student, st_student=st_student, asr_teacher=asr_teacher,
                mt_teacher=mt_teacher, student_as_teacher=student_as_teacher, ASRTask=ASRTask)


def stock_copy(model, espnet_class):
    """The student as ESPnet's own model class, same modules and weights."""
    stock = copy.deepcopy(model)
    criterion_name = model.criterion_name
    setattr(stock, criterion_name, getattr(model, criterion_name).ce)
    stock.__class__ = espnet_class
    return stock


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_lambda_zero_reproduces_espnet_asr_loss_exactly(setup, mode):
    from espnet2.asr.espnet_model import ESPnetASRModel

    student = setup["asr_student"](lam=0.0)
    stock = stock_copy(student, ESPnetASRModel)
    getattr(student, mode)(); getattr(stock, mode)()
    torch.manual_seed(11)
    loss, stats, _ = student(**tiny.asr_batch())
    torch.manual_seed(11)
    stock_loss, stock_stats, _ = stock(**tiny.asr_batch())
    assert torch.equal(loss, stock_loss)
    assert torch.equal(stats["loss_att"], stock_stats["loss_att"]) and torch.equal(stats["acc"], stock_stats["acc"])
    assert stats["loss_kd"].item() > 0  # the KL is computed and reported, only weighted by 0
    assert torch.equal(stats["loss_ce"], stock_stats["loss_att"])


def test_lambda_zero_reproduces_espnet_st_loss_exactly(setup):
    from espnet2.st.espnet_model import ESPnetSTModel

    student = setup["st_student"](lam=0.0)
    stock = stock_copy(student, ESPnetSTModel)
    student.train(); stock.train()
    torch.manual_seed(12)
    loss, stats, _ = student(**tiny.st_batch())
    torch.manual_seed(12)
    stock_loss, _, _ = stock(**tiny.st_batch())
    assert torch.equal(loss, stock_loss)
    assert stats["loss_kd"].item() > 0


def test_loss_is_the_lambda_mix_of_ce_and_kl(setup):
    student = setup["asr_student"](lam=0.3)
    student.eval()
    loss, stats, _ = student(**tiny.asr_batch())
    ctc_weight = student.ctc_weight
    att = 0.7 * stats["loss_ce"] + 0.3 * stats["loss_kd"]
    assert stats["loss_att"].item() == pytest.approx(att.item(), rel=1e-6)
    assert loss.item() == pytest.approx((ctc_weight * stats["loss_ctc"] + (1 - ctc_weight) * att).item(), rel=1e-6)


@pytest.mark.parametrize("topk", [0, len(tiny.TOKENS)])
def test_kl_is_zero_when_the_teacher_is_the_student(setup, topk):
    from espnet_kd.tasks.asr_word_kd import ASRWordKDTask  # noqa: F401

    config, model_file, same = setup["student_as_teacher"]
    student = setup["asr_student"](teacher=(config, model_file), topk=topk)
    student.load_state_dict(same.state_dict())
    student.eval()
    _, stats, _ = student(**tiny.asr_batch())
    assert abs(stats["loss_kd"].item()) < 1e-5
    # and clearly not zero with the other teacher
    other = setup["asr_student"](topk=topk)
    other.load_state_dict(same.state_dict())
    other.eval()
    assert other(**tiny.asr_batch())[1]["loss_kd"].item() > 1e-2


@pytest.mark.parametrize("kind", ["asr", "st"])
def test_gradients_flow_into_the_student_only_and_teacher_stays_frozen(setup, kind):
    student = setup[f"{kind}_student"](lam=1.0)
    batch = tiny.asr_batch() if kind == "asr" else tiny.st_batch()
    teacher = student.teacher.model
    teacher_before = {k: v.clone() for k, v in teacher.state_dict().items()}
    optimizer = torch.optim.SGD(student.parameters(), lr=0.5)
    student.train()
    assert not teacher.training and student.training
    loss, _, _ = student(**batch)
    loss.backward()
    assert all(p.grad is None and not p.requires_grad for p in teacher.parameters())
    assert student.decoder.output_layer.weight.grad.abs().sum() > 0
    optimizer.step()
    assert all(torch.equal(teacher_before[k], v) for k, v in teacher.state_dict().items())
    student.train()  # what ESPnet's trainer calls every epoch
    assert not teacher.training


def test_teacher_is_not_in_state_dict_or_parameters(setup):
    from espnet2.asr.espnet_model import ESPnetASRModel

    student = setup["asr_student"]()
    stock = stock_copy(student, ESPnetASRModel)
    assert list(student.state_dict()) == list(stock.state_dict())
    assert sum(p.numel() for p in student.parameters()) == sum(p.numel() for p in stock.parameters())
    teacher_ids = {id(p) for p in student.teacher.model.parameters()}
    assert not teacher_ids & {id(p) for p in student.parameters()}
    # a student checkpoint loads strictly into ESPnet's own ASR model
    plain = setup["ASRTask"].build_model(setup["ASRTask"].get_parser().parse_args([
        "--token_list", str(setup["asr_teacher"][0].parent.parent / "tokens.txt"), "--output_dir", "x",
        "--token_type", "char", *tiny.ASR_MODEL_OPTIONS]))
    plain.load_state_dict(student.state_dict(), strict=True)


def test_teacher_moves_with_the_student(setup):
    student = setup["asr_student"]()
    student.to(dtype=torch.float64)
    assert next(student.teacher.model.parameters()).dtype == torch.float64
    student.to(dtype=torch.float32)
    assert next(student.teacher.model.parameters()).dtype == torch.float32
