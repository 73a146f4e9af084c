"""Report 002 (ResNet50 on "Best Artworks of All Time", 50 painters, PyTorch; slides in Italian) as a study: T2.1.

What the report did: an 80/10/10 split, images resized to 224x224 and standardised per channel, random rotations
by 90/180/270 degrees; torchvision's ResNet50 (fc -> 50) with cross-entropy, Adam and ExponentialLR(gamma 0.7)
per epoch, judged by macro-averaged metrics ("MacroAVG accuracy") because the painters are imbalanced. Its five
experiments ("Esperimenti svolti"): 01 trained from scratch (lr 3e-3), 02 fine-tuned from ImageNet1K (lr 3e-4),
03 fine-tuned with layer1-4 frozen (only fc trains: freeze_depth 5), 04 with layer1-3 frozen (layer4 + fc train:
freeze_depth 4), 05 a modified ResNet50 (GELU, depthwise 3x3 convolutions, CBAM). It published curves only, no
figures: the table has no reference column, but every row gets val/test macro recall and F1 and the per-class
report.

Where tunebench had to choose:
- Batch size and epochs are not in the report: 32 and 20 (the benchmark's defaults).
- Experiment 05 is "Addestrare ResNet50 modificata" - "train", the word of 01 ("Addestrare ResNet50 from
  scratch"), against "FineTuning" for 02-04, and the report gives 3e-3 as the learning rate for training
  ("addestramento") and 3e-4 for fine-tuning: tunebench reads 05 as from scratch at lr 3e-3. The report does not
  say so outright.
- "Per-channel standardisation" uses ImageNet's statistics; freeze_depth counts the stem as a stage, so "layer1-4
  frozen" is 5 and "layer1-3 frozen" is 4 (stem frozen too).
"""

from tunebench.study import Row, Study, Table, arms

STUDY = Study(
    name="resnet50-artworks",
    seed_report="002",
    title="Deep Learning & Application's Project: ResNet50 on Best Artworks of All Time",
    tables=(
        Table("T2.1", "Esperimenti svolti", "resnet50-artworks",
              arms(
                  Row("01 scratch", dict(weights="none", lr=3e-3)),
                  Row("02 fine-tune", dict(weights="imagenet", lr=3e-4)),
                  Row("03 fine-tune, layer1-4 frozen", dict(weights="imagenet", lr=3e-4, freeze_depth=5)),
                  Row("04 fine-tune, layer1-3 frozen", dict(weights="imagenet", lr=3e-4, freeze_depth=4)),
                  # "Addestrare ResNet50 modificata": read as from scratch (see the note)
                  Row("05 modified ResNet50", dict(model="resnet50-modified", weights="none", lr=3e-3)),
              ),
              per_class=True,
              note="No figures in the report (curves only). Experiment 05 does not say scratch or fine-tuned; "
                   "tunebench's choice: from scratch at lr 3e-3, since the report calls it \"Addestrare\" (train) "
                   "like 01 and gives 3e-3 as its training learning rate. tunebench's choice: batch 32, 20 epochs "
                   "(not in the report)."),
    ),
    note="tunebench's choices where the report is silent: batch size 32 and 20 epochs (the benchmark defaults), "
         "ImageNet statistics for the per-channel standardisation, and experiment 05 (the modified ResNet50) from "
         "scratch at lr 3e-3.",
)
