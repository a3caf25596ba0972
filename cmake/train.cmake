# yaml-cpp for the training and RL configuration files (src/osp/train/train_config, src/osp/rl/rl_config).
find_package(yaml-cpp REQUIRED)
# PUBLIC: train/yaml_section.h, which rl/ uses too, includes yaml-cpp.
target_link_libraries(osp_train PUBLIC yaml-cpp)
