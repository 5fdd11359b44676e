.PHONY: run test lint
run:
	python3 scripts/dev.py run
test:
	python3 scripts/dev.py test
lint:
	python3 scripts/dev.py lint
