//! CIM (CDPSM) RDF/XML: round trip, a hand-written file, and every kind of rejected element.

use bureau_grid::cim::{self, CimError};
use bureau_grid::{csvio, BranchKind, NodeKind, Params};

fn example() -> bureau_grid::Network {
    csvio::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/grid-examples/two-feeders")).unwrap()
}

#[test]
fn round_trip_keeps_every_node_branch_and_state() {
    let mut net = example();
    net.set_open("D1", true).unwrap();
    let xml = cim::write(&net);
    let (back, report) = cim::read(&xml, Params::default()).unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    assert_eq!(report.nodes, net.nodes().len());
    assert_eq!(report.branches, net.branches().len());
    for n in net.nodes() {
        assert_eq!(back.node(&n.id), Some(n), "node {}", n.id);
    }
    for b in net.branches() {
        let c = back.branch(&b.id).unwrap();
        assert_eq!((c.from.as_str(), c.to.as_str(), c.kind), (b.from.as_str(), b.to.as_str(), b.kind));
        assert_eq!((c.normal_open, c.open), (b.normal_open, b.open), "{}", b.id);
        assert!((c.length_km - b.length_km).abs() < 1e-9);
        assert_eq!((c.failure_rate, c.repair_h), (b.failure_rate, b.repair_h));
    }
    // The same study on both.
    assert_eq!(back.reliability(), net.reliability());
    assert!(!back.is_energised("LP2").unwrap(), "D1 open cuts LP2 off in the current state");
}

const HAND: &str = r##"<?xml version="1.0" encoding="UTF-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:cim="http://iec.ch/TC57/CIM100#">
  <cim:BaseVoltage rdf:ID="BV10"><cim:BaseVoltage.nominalVoltage>10000</cim:BaseVoltage.nominalVoltage></cim:BaseVoltage>
  <cim:ConnectivityNode rdf:ID="n1"><cim:IdentifiedObject.name>bus 1</cim:IdentifiedObject.name></cim:ConnectivityNode>
  <cim:ConnectivityNode rdf:ID="n2"/>
  <cim:ConnectivityNode rdf:ID="n3"/>
  <cim:EnergySource rdf:ID="src"/>
  <cim:Terminal rdf:ID="t0"><cim:Terminal.ConductingEquipment rdf:resource="#src"/><cim:Terminal.ConnectivityNode rdf:resource="#n1"/></cim:Terminal>
  <cim:Breaker rdf:ID="cb"><cim:Switch.normalOpen>false</cim:Switch.normalOpen></cim:Breaker>
  <cim:Terminal rdf:ID="t1"><cim:ACDCTerminal.sequenceNumber>1</cim:ACDCTerminal.sequenceNumber><cim:Terminal.ConductingEquipment rdf:resource="#cb"/><cim:Terminal.ConnectivityNode rdf:resource="#n1"/></cim:Terminal>
  <cim:Terminal rdf:ID="t2"><cim:ACDCTerminal.sequenceNumber>2</cim:ACDCTerminal.sequenceNumber><cim:Terminal.ConductingEquipment rdf:resource="#cb"/><cim:Terminal.ConnectivityNode rdf:resource="#n2"/></cim:Terminal>
  <cim:ACLineSegment rdf:about="#seg"><cim:Conductor.length>1500</cim:Conductor.length></cim:ACLineSegment>
  <cim:Terminal rdf:ID="t3"><cim:ACDCTerminal.sequenceNumber>1</cim:ACDCTerminal.sequenceNumber><cim:Terminal.ConductingEquipment rdf:resource="#seg"/><cim:Terminal.ConnectivityNode rdf:resource="#n2"/></cim:Terminal>
  <cim:Terminal rdf:ID="t4"><cim:ACDCTerminal.sequenceNumber>2</cim:ACDCTerminal.sequenceNumber><cim:Terminal.ConductingEquipment rdf:resource="#seg"/><cim:Terminal.ConnectivityNode rdf:resource="#n3"/></cim:Terminal>
  <cim:EnergyConsumer rdf:ID="load"><cim:IdentifiedObject.name>东街台区</cim:IdentifiedObject.name><cim:EnergyConsumer.customerCount>120</cim:EnergyConsumer.customerCount><cim:EnergyConsumer.p>250000</cim:EnergyConsumer.p></cim:EnergyConsumer>
  <cim:Terminal rdf:ID="t5"><cim:Terminal.ConductingEquipment rdf:resource="#load"/><cim:Terminal.ConnectivityNode rdf:resource="#n3"/></cim:Terminal>
  <cim:Fuse rdf:ID="lonely"/>
  <cim:Terminal rdf:ID="t6"><cim:Terminal.ConductingEquipment rdf:resource="#lonely"/><cim:Terminal.ConnectivityNode rdf:resource="#n3"/></cim:Terminal>
  <cim:Terminal rdf:ID="t7"><cim:Terminal.ConductingEquipment rdf:resource="#cb"/><cim:Terminal.ConnectivityNode rdf:resource="#nowhere"/></cim:Terminal>
  <cim:EnergyConsumer rdf:ID="badcount"><cim:EnergyConsumer.customerCount>many</cim:EnergyConsumer.customerCount></cim:EnergyConsumer>
  <cim:Terminal rdf:ID="t8"><cim:Terminal.ConductingEquipment rdf:resource="#badcount"/><cim:Terminal.ConnectivityNode rdf:resource="#n2"/></cim:Terminal>
  <cim:Disconnector rdf:ID="neg"><cim:Conductor.length>-3</cim:Conductor.length></cim:Disconnector>
  <cim:Terminal rdf:ID="t10"><cim:Terminal.ConductingEquipment rdf:resource="#neg"/><cim:Terminal.ConnectivityNode rdf:resource="#n2"/></cim:Terminal>
  <cim:Terminal rdf:ID="t11"><cim:Terminal.ConductingEquipment rdf:resource="#neg"/><cim:Terminal.ConnectivityNode rdf:resource="#n3"/></cim:Terminal>
</rdf:RDF>
"##;

#[test]
fn a_hand_written_file_reads_and_each_bad_element_is_reported() {
    let (net, report) = cim::read(HAND, Params::default()).unwrap();
    assert_eq!(net.node("n1").unwrap().kind, NodeKind::Source);
    assert_eq!(net.node("n1").unwrap().name, "bus 1");
    let load = net.node("n3").unwrap();
    assert_eq!(
        (load.kind, load.customers, load.avg_kw, load.name.as_str()),
        (NodeKind::Load, 120, 250.0, "东街台区")
    );
    let seg = net.branch("seg").unwrap();
    assert_eq!(
        (seg.kind, seg.from.as_str(), seg.to.as_str(), seg.length_km),
        (BranchKind::Line, "n2", "n3", 1.5)
    );
    assert_eq!(net.branch("cb").unwrap().kind, BranchKind::Breaker);
    assert_eq!(report.skipped.get("BaseVoltage"), Some(&1));
    let reason = |id: &str| {
        report
            .rejected
            .iter()
            .find(|r| r.id == id)
            .unwrap_or_else(|| panic!("{id} not rejected: {:?}", report.rejected))
    };
    assert_eq!(reason("lonely").reason_en, "needs two terminals, has 1");
    assert_eq!(reason("t7").reason_en, "Terminal.ConnectivityNode 'nowhere' is not in the file");
    assert!(reason("badcount").reason_en.contains("customerCount 'many'"));
    assert!(reason("neg").reason_zh.contains("不小于0"), "{:?}", reason("neg"));
    assert_eq!(report.rejected.len(), 4, "{:?}", report.rejected);
}

#[test]
fn a_bad_model_names_the_element_and_malformed_xml_names_the_place() {
    // A second closed breaker from the source bus to the load node closes a loop in the normal state.
    let xml = HAND.replace(
        r##"<cim:Fuse rdf:ID="lonely"/>"##,
        r##"<cim:Breaker rdf:ID="cb2"/>
  <cim:Terminal rdf:ID="t12"><cim:Terminal.ConductingEquipment rdf:resource="#cb2"/><cim:Terminal.ConnectivityNode rdf:resource="#n1"/></cim:Terminal>
  <cim:Terminal rdf:ID="t13"><cim:Terminal.ConductingEquipment rdf:resource="#cb2"/><cim:Terminal.ConnectivityNode rdf:resource="#n3"/></cim:Terminal>"##,
    );
    match cim::read(&xml, Params::default()) {
        Err(CimError::Model { errors, report }) => {
            let e = errors.iter().find(|e| e.field == "normal_open").unwrap_or_else(|| panic!("{errors}"));
            assert_eq!(e.file, "branches (CIM equipment)");
            assert!(e.message_en().contains("branch"), "{}", e.message_en());
            assert!(["cb", "cb2", "seg"].contains(&e.id.as_str()), "{e}");
            assert_eq!(report.branches, 3);
        }
        other => panic!("expected a model error, got {other:?}"),
    }
    match cim::read("<rdf:RDF><cim:Breaker rdf:ID=\"x\"></cim:Fuse></rdf:RDF>", Params::default()) {
        Err(CimError::Xml { position, .. }) => assert!(position > 0),
        other => panic!("expected an XML error, got {other:?}"),
    }
}
