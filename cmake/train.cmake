# yaml-cpp for the training configuration files (src/osp/train/train_config, `osp train`).
find_package(yaml-cpp REQUIRED)
target_link_libraries(ospnext PUBLIC yaml-cpp)
