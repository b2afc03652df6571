VENV ?= .venv

.PHONY: demo test setup ref
setup:
	@bash scripts/setup.sh

## Reference implementations (torch-fidelity, pytorch-fid, prdc, POT) for the metric tests, in their own venv.
ref:
	@bash scripts/ref-venv.sh

## The main job: train the default preset (dcgan-fashion) on real Fashion-MNIST, then report its FID[fashion-cnn].
demo: setup
	$(VENV)/bin/gankit train --log.eval_at_end=true --log.eval_n=10000

## The tests (the metric tests against the reference implementations are required, not skipped).
test: setup ref
	GANKIT_REQUIRE_REF=1 $(VENV)/bin/python -m pytest -q
