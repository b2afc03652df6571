VENV ?= .venv

.PHONY: demo test setup
setup:
	@bash scripts/setup.sh

## The main job: train the default preset (dcgan-fashion) on real Fashion-MNIST.
demo: setup
	$(VENV)/bin/gankit train

## The tests.
test: setup
	$(VENV)/bin/python -m pytest -q
