"""Report 004 (Dogs vs Cats, Keras) as a study: tables T4.4, T4.6, T4.8, T4.13, T4.14 and T4.15.

What the report did: a 3-block "base" CNN on 200x200 images rescaled by 1/255, batch 64, seed 42, augmentation on
the training images only (shear 0.2, zoom 0.3, horizontal flip, brightness 0.8-1.2, rotation 20, shift 0.15),
early stopping on val loss restoring the best weights; 3 corrupt files skipped. It compared the base model over
split (64/16/20, 80/10/10) x colour x augmentation (T4.4), ran KerasTuner's RandomSearch (10 trials x 3
executions, 50 epochs, 64/16/20, rgb; T4.6), built two variants at 80/10/10 rgb augmented (T4.8: #1 filters
doubled, #2 two convolutions per block), transferred VGG16 and MobileNetV2 then fine-tuned them (T4.13), showed
test confusion matrices (T4.14) and MobileNetV2's least-confident test images (T4.15). Every configuration but
the random search's was trained once (executions=1).

Where tunebench had to choose:
- Epochs: the report trained "for a very large number of epochs" under early stopping (best epochs up to 70,
  patience 15) without stating the cap; T4.4, T4.8 and T4.14 run at most 100 epochs (patience 15, best weights
  restored: the benchmark defaults).
- Optimiser of T4.4/T4.8/T4.14: the report tried SGD+momentum, Adam and RMSprop without saying which produced
  the tables; tunebench uses the benchmark default, Keras' Adam (lr 0.001).
- T4.6's augmentation and early stopping are not stated for the search: tunebench keeps the benchmark's (the
  report's augmentation; patience 15, best weights restored).
- transfer-catsdogs has no `executions` key (one training per configuration): T4.13 and T4.15 have no
  executions in their base, and T4.14 sets executions=1 on its two cnn-catsdogs rows instead of its base.
- Ranges of seconds per epoch (240-300, 230-250) are given as their midpoints.
"""

from tunebench.study import Row, SearchRow, Study, Table, arms, product

STUDY = Study(
    name="cnn-catsdogs",
    seed_report="004",
    title="Deep Learning - presentazione del progetto: CNN per cani e gatti",
    tables=(
        # test accuracy / test loss / best epoch / (about) seconds per epoch; base model, trained once each
        Table("T4.4", "Risultati modello «base»", "cnn-catsdogs",
              product({"split": ("64/16/20", "80/10/10"), "color": ("grayscale", "rgb"), "augment": ("none", "keras")},
                      {
                          ("64/16/20", "grayscale", "none"): {"test_acc": 0.7736, "test_loss": 0.4779,
                                                              "best_epoch": 48, "epoch_seconds": 44},
                          ("64/16/20", "grayscale", "keras"): {"test_acc": 0.8088, "test_loss": 0.4255,
                                                               "best_epoch": 67, "epoch_seconds": 93},
                          ("64/16/20", "rgb", "none"): {"test_acc": 0.7988, "test_loss": 0.4426,
                                                        "best_epoch": 41, "epoch_seconds": 46},
                          ("64/16/20", "rgb", "keras"): {"test_acc": 0.8322, "test_loss": 0.3969,
                                                         "best_epoch": 70, "epoch_seconds": 160},
                          ("80/10/10", "grayscale", "none"): {"test_acc": 0.7912, "test_loss": 0.4456,
                                                              "best_epoch": 41, "epoch_seconds": 60},
                          ("80/10/10", "grayscale", "keras"): {"test_acc": 0.8244, "test_loss": 0.3963,
                                                               "best_epoch": 66, "epoch_seconds": 115},
                          ("80/10/10", "rgb", "none"): {"test_acc": 0.8044, "test_loss": 0.4154,
                                                        "best_epoch": 37, "epoch_seconds": 54},
                          ("80/10/10", "rgb", "keras"): {"test_acc": 0.8464, "test_loss": 0.3668,
                                                         "best_epoch": 63, "epoch_seconds": 215},
                      }),
              base=dict(variant="base", executions=1), max_epochs=100,
              note="The report does not state the epoch cap (early stopping, patience 15, best epochs up to 70) nor "
                   "which optimiser made this table. tunebench's choice: at most 100 epochs, Adam at Keras' default "
                   "lr (the benchmark defaults). Seconds per epoch were measured on a GTX 1070 laptop in use."),
        # KerasTuner RandomSearch: objective val_accuracy, 10 trials x 3 executions, 50 epochs, 64/16/20, rgb.
        # The best trial ("06"): conv filters 64/64/256, dropouts 0.1/0.1/0.1, dense 160, dropout_4 0.2, adam;
        # best_step 5; the whole search took 11 h 50 min 30 s.
        Table("T4.6", "KerasTuner (4/4): Risultato e Test", "cnn-catsdogs",
              (Row("best trial", report={"val_acc": 0.8161580761273702}),),
              base=dict(split="64/16/20", color="rgb", executions=3),
              search=SearchRow("random", num_samples=10), max_epochs=50,
              note="The report's best trial: conv_1/2/3_filter 64/64/256, dropout_1/2/3 0.1, dense_1_units 160, "
                   "dropout_4 0.2, optimizer adam (val accuracy 0.8162, the mean of 3 executions); 10 trials x 3 "
                   "executions took 11 h 50 min 30 s on a GTX 1070. The report does not say whether the search's "
                   "images were augmented or what its early stopping's patience was; tunebench's choice: the "
                   "benchmark's augmentation (keras) and patience 15 with the best weights restored."),
        # 80/10/10, rgb, the same augmentation; variant #1 and #2 use dense dropout 0.4 (the model's own value)
        Table("T4.8", "Confronto modifiche (2/2)", "cnn-catsdogs",
              arms(
                  Row("base", {"variant": "base"},
                      {"test_acc": 0.8464, "test_loss": 0.3668, "best_epoch": 63, "epoch_seconds": 215,
                       "model_mb": 78.48}),
                  # seconds per epoch: the report gives 240-300, the midpoint here
                  Row("#1 filters doubled", {"variant": "wide"},
                      {"test_acc": 0.8612, "test_loss": 0.3451, "best_epoch": 51, "epoch_seconds": 270,
                       "model_mb": 157.67}),
                  # seconds per epoch: the report gives 230-250, the midpoint here
                  Row("#2 two convs per block", {"variant": "double"},
                      {"test_acc": 0.9040, "test_loss": 0.2490, "best_epoch": 22, "epoch_seconds": 240,
                       "model_mb": 79.22}),
              ),
              base=dict(split="80/10/10", color="rgb", augment="keras", executions=1), max_epochs=100,
              note="Seconds per epoch of #1 and #2 are ranges in the report (240-300, 230-250): their midpoints. "
                   "tunebench's choice: at most 100 epochs (the report's cap is not stated)."),
        # accuracy after the frozen stage (stage1_test_acc) and after fine-tuning (stage2_test_acc); epochs per stage come
        # from the report's recipe (VGG16 3 + 3, MobileNetV2 4 + 9: the transfer-catsdogs defaults)
        Table("T4.13", "Confronto VGG16 e MobileNetV2", "transfer-catsdogs",
              arms(
                  Row("VGG16", {"backbone": "vgg16"}, {"stage1_test_acc": 0.9828, "stage2_test_acc": 0.9880}),
                  Row("MobileNetV2", {"backbone": "mobilenet_v2"},
                      {"stage1_test_acc": 0.9896, "stage2_test_acc": 0.9904, "model_mb": 9.27}),
              ),
              base=dict(split="80/10/10", color="rgb", augment="keras"),
              note="The report's seconds per epoch are given per stage (VGG16 267 and 300, MobileNetV2 267 and 254) "
                   "and are not a single figure here; VGG16's size in MB is not legible in the report. Each "
                   "configuration trains once (transfer-catsdogs has no executions key)."),
        # test set of the 80/10/10 split (2,500 images), rows true (cat, dog), columns predicted (cat, dog)
        Table("T4.14", "Confusion matrix", "cnn-catsdogs",
              arms(
                  Row("base, grayscale, no aug", dict(variant="base", color="grayscale", augment="none", executions=1),
                      {"test_acc": 0.7912, "confusion": ((984, 266), (256, 994))}),
                  Row("variant #2 (two convs)", dict(variant="double", color="rgb", augment="keras", executions=1),
                      {"test_acc": 0.9040, "confusion": ((1129, 121), (119, 1131))}),
                  Row("VGG16", {"backbone": "vgg16"}, {"test_acc": 0.9880, "confusion": ((1234, 16), (14, 1236))},
                      benchmark="transfer-catsdogs"),
                  # the report prints only MobileNetV2's diagonal (1242 and 1234 correct) and its accuracy
                  Row("MobileNetV2", {"backbone": "mobilenet_v2"}, {"test_acc": 0.9904},
                      benchmark="transfer-catsdogs"),
              ),
              base=dict(split="80/10/10"), max_epochs=100, confusion=True,
              note="The transfer rows are the fine-tuned models; their epochs follow the report's recipe (max_epochs "
                   "only caps them). The report shows MobileNetV2's matrix without legible off-diagonal cells "
                   "(correct: 1242 and 1234), so only its accuracy is a reference. executions=1 is set on the "
                   "cnn-catsdogs rows (transfer-catsdogs has no such key)."),
        # the 10 test images with the probability closest to 0.5 (the report's df_insicuri.head(10))
        Table("T4.15", "Alcune foto che mettono in difficoltà MobileNetV2", "transfer-catsdogs",
              arms(Row("MobileNetV2 fine-tuned", {"backbone": "mobilenet_v2"})),
              least_confident=10,
              note="The report lists file, predicted probability, label, prediction and |0.5 - p|; the images "
                   "depend on the split's draw, so there is no per-row reference figure."),
    ),
    note="Trained once per configuration (executions=1) except the random search (executions=3, as KerasTuner's "
         "executions_per_trial). tunebench's choices where the report is silent: at most 100 epochs for the "
         "early-stopped trainings (T4.4, T4.8, T4.14), Adam at Keras' default learning rate for the base model and "
         "its variants, the benchmark's augmentation and patience for the random search.",
)
