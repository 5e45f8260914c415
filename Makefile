# gatescope: `make run` and `make test` set everything up on a fresh clone.
# libtorch comes from the pinned PyTorch wheel in a project-local .venv;
# users with their own libtorch can run `LIBTORCH=/path/to/libtorch cargo build`.

PYTHON ?= python3
VENV   := .venv
STAMP  := $(VENV)/.installed-torch-2.13.0
TORCH_PIN := torch==2.13.0 numpy safetensors

export VIRTUAL_ENV := $(abspath $(VENV))
export PATH := $(abspath $(VENV))/bin:$(PATH)
export LIBTORCH_USE_PYTORCH := 1

CHECKPOINT ?= assets/default.safetensors
DATA ?= data/tinyshakespeare.txt

.PHONY: run test build bench venv clean

run: build
	target/release/gatescope play --checkpoint $(CHECKPOINT)

build: $(STAMP)
	cargo build --release

test: $(STAMP)
	cargo build --release
	cargo test --release -- --test-threads=2

bench: build
	$(VENV)/bin/python bench/bench.py --data $(DATA)

venv: $(STAMP)

$(STAMP):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install $(TORCH_PIN)
	touch $@

clean:
	cargo clean
	rm -rf $(VENV)
